// Training a model from normal images, whatever its type.
//
//   vigil::TrainingSet set = vigil::load_training_set(paths, preprocess);
//   vigil::TrainRequest req;
//   req.type = "patchcore";
//   req.backbone = {"mobilenetv2.onnx", {"365", "426"}};
//   std::unique_ptr<vigil::Model> model = vigil::train_model(req, set);
//
// Each model type registers a trainer; its options come as JSON (the CLI
// fills them from flags), and unknown keys are an error.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vigil/model.h"

namespace vigil {

// Preprocessed normal images held in memory.
struct TrainingSet {
  int n = 0, height = 0, width = 0;
  std::vector<float> images;       // n x 3 x height x width, row-major, float32
  std::vector<std::string> paths;  // n source files

  const float* image(int i) const {
    return images.data() + std::size_t(i) * 3 * height * width;
  }
};

// Decodes and preprocesses `paths` (with progress in the log). Throws
// vigil::Error naming the first file that cannot be read.
TrainingSet load_training_set(const std::vector<std::string>& paths,
                              const Preprocess& preprocess);

struct TrainRequest {
  std::string type;          // "patchcore", "padim", ...
  BackboneOptions backbone;  // empty path for models without a backbone
  Preprocess preprocess;
  nlohmann::json options = nlohmann::json::object();  // model-specific
  std::uint64_t seed = 0;
  int batch_size = 16;  // images per backbone call
  // Optional: preprocessed validation images, for models that stop early
  // or calibrate maps on them (EfficientAD, FastFlow).
  const TrainingSet* validation = nullptr;
};

// Throws vigil::Error for an unknown type or bad options.
std::unique_ptr<Model> train_model(const TrainRequest& request,
                                   const TrainingSet& normal);

// As train_model, with a backbone the caller made (tests inject one).
std::unique_ptr<Model> train_model_with_backbone(
    const TrainRequest& request, const TrainingSet& normal,
    std::unique_ptr<Backbone> backbone);

using Trainer = std::function<std::unique_ptr<Model>(
    const TrainRequest& request, const TrainingSet& normal,
    std::unique_ptr<Backbone> backbone)>;
void register_trainer(const std::string& type, Trainer trainer);
std::vector<std::string> registered_model_types();

}  // namespace vigil
