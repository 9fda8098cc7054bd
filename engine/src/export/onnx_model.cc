#include "export/onnx_model.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <filesystem>

#include <onnxruntime_cxx_api.h>
#include <spdlog/spdlog.h>

#include "common/ort_util.h"
#include "vigil/error.h"
#include "vigil/stopwatch.h"

namespace vigil {
namespace {

const std::array<const char*, 4> kOutputs = {"anomaly_map", "pred_score",
                                             "raw_score", "raw_anomaly_map"};

std::vector<float> copy_of(const Ort::Value& value) {
  const float* data = value.GetTensorData<float>();
  return {data, data + value.GetTensorTypeAndShapeInfo().GetElementCount()};
}

ModelInfo info_from(const nlohmann::json& header) {
  ModelInfo info;
  info.type = header.at("type").get<std::string>();
  info.name = header.value("name", "");
  info.version = header.value("version", "");
  Preprocess exported = preprocess_from_json(header.at("preprocess"));
  // The graph normalises; the Detector must hand it raw 0..255 pixels.
  info.preprocess.resize_height = exported.resize_height;
  info.preprocess.resize_width = exported.resize_width;
  info.preprocess.height = exported.height;
  info.preprocess.width = exported.width;
  info.preprocess.scale = 1.0f;
  info.preprocess.mean = {0.0f, 0.0f, 0.0f};
  info.preprocess.std = {1.0f, 1.0f, 1.0f};
  info.preprocess.bgr = false;
  const nlohmann::json& backbone = header.at("backbone");
  info.backbone.layers = backbone.at("layers").get<std::vector<std::string>>();
  info.backbone_sha256 = backbone.at("sha256").get<std::string>();
  info.calibration = calibration_from_json(header.at("calibration"));
  info.metrics = header.value("metrics", nlohmann::json::object());
  info.training = header.value("training", nlohmann::json::object());
  return info;
}

class OnnxModel : public Model {
 public:
  OnnxModel(std::unique_ptr<ExportedGraph> graph, std::string type)
      : graph_(std::move(graph)), type_(std::move(type)) {}

  std::string type() const override { return type_; }
  const Backbone* backbone() const override { return nullptr; }
  nlohmann::json config() const override {
    return graph_->header().value("config", nlohmann::json::object());
  }

  void write_tensors(TensorFile&) const override {
    throw Error("model",
                "an exported ONNX file cannot be saved as a vigil "
                "model file (keep the .vigil file it came from)");
  }

  RawOutput score(const float* images, int n, int height, int width,
                  StageTimes* times) const override {
    auto start = Clock::now();
    ExportedOutputs out = graph_->run(images, n, height, width);
    // One graph holds backbone and scoring; its time is reported whole.
    if (times) times->scoring_ms += ms_since(start);
    return {n, height, width, std::move(out.raw_anomaly_maps),
            std::move(out.raw_scores)};
  }

 private:
  std::unique_ptr<ExportedGraph> graph_;
  std::string type_;
};

}  // namespace

struct ExportedGraph::Session {
  std::unique_ptr<Ort::Session> ort;
  int height = 0, width = 0;
};

ExportedGraph::ExportedGraph(const std::string& path, int threads)
    : path_(path), session_(std::make_unique<Session>()) {
  if (!std::filesystem::is_regular_file(path)) {
    throw Error(path, "cannot open (missing or not a file)");
  }
  try {
    session_->ort = std::make_unique<Ort::Session>(ort_env(), path.c_str(),
                                                   session_options(threads));
    Ort::AllocatorWithDefaultOptions allocator;
    Ort::AllocatedStringPtr text =
        session_->ort->GetModelMetadata().LookupCustomMetadataMapAllocated(
            "vigil", allocator);
    if (!text) throw Error(path, "an ONNX file, but not a vigil export");
    header_ = nlohmann::json::parse(text.get());
    Preprocess p = preprocess_from_json(header_.at("preprocess"));
    session_->height = p.height;
    session_->width = p.width;
  } catch (const Ort::Exception& e) {
    throw Error(path, std::string("ONNX Runtime: ") + e.what());
  } catch (const nlohmann::json::exception& e) {
    throw Error(path, std::string("bad vigil metadata: ") + e.what());
  }
}

ExportedGraph::~ExportedGraph() = default;

ExportedOutputs ExportedGraph::run(const float* images, int n, int height,
                                   int width) const {
  if (height != session_->height || width != session_->width) {
    throw Error(path_, "exported for " + std::to_string(session_->height) +
                           "x" + std::to_string(session_->width) +
                           " images, given " + std::to_string(height) + "x" +
                           std::to_string(width));
  }
  Ort::Value input = image_tensor(images, n, height, width);
  const char* input_name = "image";
  std::vector<Ort::Value> values;
  try {
    values = session_->ort->Run(Ort::RunOptions{nullptr}, &input_name, &input,
                                1, kOutputs.data(), kOutputs.size());
  } catch (const Ort::Exception& e) {
    throw Error(path_, std::string("inference failed: ") + e.what());
  }
  ExportedOutputs out;
  out.n = n, out.height = height, out.width = width;
  out.anomaly_maps = copy_of(values[0]);
  out.pred_scores = copy_of(values[1]);
  out.raw_scores = copy_of(values[2]);
  out.raw_anomaly_maps = copy_of(values[3]);
  return out;
}

bool is_onnx_path(const std::string& path) {
  std::string extension = std::filesystem::path(path).extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return extension == ".onnx";
}

LoadedModel load_onnx_model(const std::string& path,
                            const LoadOptions& options) {
  auto start = Clock::now();
  auto graph = std::make_unique<ExportedGraph>(path, options.threads);
  LoadedModel loaded;
  try {
    loaded.info = info_from(graph->header());
  } catch (const nlohmann::json::exception& e) {
    throw Error(path, std::string("bad vigil metadata: ") + e.what());
  }
  loaded.model =
      std::make_unique<OnnxModel>(std::move(graph), loaded.info.type);
  spdlog::info("loaded exported {} model {} in {:.0f} ms", loaded.info.type,
               path, ms_since(start));
  return loaded;
}

}  // namespace vigil
