// The interface every anomaly model implements, and the trained-model file.
//
// A model takes preprocessed images and returns raw (unnormalised) anomaly
// maps at the network input size and one raw score per image. Training is
// model-specific (see patchcore.h, padim.h, ...); all of them end in a
// Model that can be saved to one file and loaded back:
//
//   vigil::save_model("tile.vigil", *model, info);
//   vigil::LoadedModel m = vigil::load_model("tile.vigil");
//   vigil::RawOutput out = m.model->score(x.data(), n, 224, 224);
//
// score() is const and safe to call from several threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vigil/backbone.h"
#include "vigil/calibration.h"
#include "vigil/preprocess.h"
#include "vigil/tensor_file.h"

namespace vigil {

// Time spent in each stage of score(), for the benchmark and the logs.
struct StageTimes {
  double backbone_ms = 0.0;
  double scoring_ms = 0.0;
};

struct RawOutput {
  int n = 0, height = 0, width = 0;
  std::vector<float> anomaly_maps;  // n x height x width, row-major, float32
  std::vector<float> image_scores;  // n raw image scores
};

class Model {
 public:
  virtual ~Model() = default;

  virtual std::string type() const = 0;  // "patchcore", "padim", ...

  // images: n x 3 x height x width, row-major, float32, preprocessed with
  // the model's Preprocess (height and width are its network input size).
  // Returns maps of height x width. `times` may be null.
  virtual RawOutput score(const float* images, int n, int height, int width,
                          StageTimes* times = nullptr) const = 0;

  // The model's own hyper-parameters, saved in the model file.
  virtual nlohmann::json config() const = 0;
  // Adds the model's learned tensors (memory bank, statistics, weights).
  virtual void write_tensors(TensorFile& file) const = 0;

  // The backbone this model reads features from; null for models that own
  // their whole network.
  virtual const Backbone* backbone() const = 0;
};

// Everything a trained model file holds besides the model's own tensors.
struct ModelInfo {
  std::string type;
  std::string name;     // user-chosen, e.g. "tile-line-3"
  std::string version;  // e.g. "2026-12-03T14:07:00Z"
  Preprocess preprocess;
  BackboneOptions backbone;  // path and layers; empty path: no backbone
  std::string backbone_sha256;
  Calibration calibration;
  nlohmann::json metrics = nlohmann::json::object();   // from validation
  nlohmann::json training = nlohmann::json::object();  // dataset, n, time
};

struct LoadedModel {
  ModelInfo info;
  std::unique_ptr<Model> model;
};

// Writes one file holding `model`, `info` and all that scoring needs.
// Throws vigil::Error naming the file on I/O failure.
void save_model(const std::string& path, const Model& model,
                const ModelInfo& info);

struct LoadOptions {
  // Overrides the backbone path stored in the file (models move between
  // machines); the file's SHA-256 must still match.
  std::string backbone_path;
  int threads = 0;  // ONNX Runtime intra-op threads; 0: all cores
};

// Throws vigil::Error naming the file: missing, corrupt, an unknown model
// type, or a backbone whose SHA-256 differs from the one trained with.
// A path ending in ".onnx" loads a file made by export_onnx() instead
// (vigil/export.h): its model runs the whole graph on ONNX Runtime.
LoadedModel load_model(const std::string& path,
                       const LoadOptions& options = {});

// Each model type registers how it is rebuilt from a file.
using ModelLoader = std::function<std::unique_ptr<Model>(
    const nlohmann::json& config, const TensorFile& file,
    std::unique_ptr<Backbone> backbone)>;
void register_model_loader(const std::string& type, ModelLoader loader);

}  // namespace vigil
