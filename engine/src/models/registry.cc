// The model-type registries and the trained-model file.
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>

#include <spdlog/spdlog.h>

#include "export/onnx_model.h"
#include "models/builtin.h"
#include "vigil/error.h"
#include "vigil/model.h"
#include "vigil/training.h"

namespace vigil {
namespace {

constexpr int kFormatVersion = 1;

struct Registry {
  std::mutex mutex;
  std::map<std::string, ModelLoader> loaders;
  std::map<std::string, Trainer> trainers;
};

Registry& registry() {
  static Registry instance;
  return instance;
}

template <typename Map>
typename Map::mapped_type find_registered(Map& map, const std::string& type,
                                          const std::string& what) {
  register_builtin_models();
  std::lock_guard<std::mutex> lock(registry().mutex);
  auto it = map.find(type);
  if (it == map.end()) {
    std::string known;
    for (const auto& [name, unused] : map) known += " " + name;
    throw Error(what,
                "unknown model type '" + type + "' (known:" + known + ")");
  }
  return it->second;
}

nlohmann::json header_of(const Model& model, const ModelInfo& info) {
  return {{"format", kFormatVersion},
          {"type", model.type()},
          {"name", info.name},
          {"version", info.version},
          {"preprocess", to_json(info.preprocess)},
          {"backbone",
           {{"path", info.backbone.path},
            {"layers", info.backbone.layers},
            {"sha256", info.backbone_sha256}}},
          {"calibration", to_json(info.calibration)},
          {"metrics", info.metrics},
          {"training", info.training},
          {"config", model.config()}};
}

ModelInfo info_from(const nlohmann::json& header) {
  ModelInfo info;
  info.type = header.at("type").get<std::string>();
  info.name = header.value("name", "");
  info.version = header.value("version", "");
  info.preprocess = preprocess_from_json(header.at("preprocess"));
  const nlohmann::json& backbone = header.at("backbone");
  info.backbone.path = backbone.at("path").get<std::string>();
  info.backbone.layers = backbone.at("layers").get<std::vector<std::string>>();
  info.backbone_sha256 = backbone.at("sha256").get<std::string>();
  info.calibration = calibration_from_json(header.at("calibration"));
  info.metrics = header.value("metrics", nlohmann::json::object());
  info.training = header.value("training", nlohmann::json::object());
  return info;
}

std::unique_ptr<Backbone> open_checked_backbone(const ModelInfo& info,
                                                const LoadOptions& options,
                                                const std::string& path) {
  if (info.backbone.path.empty()) return nullptr;
  BackboneOptions backbone = info.backbone;
  if (!options.backbone_path.empty()) backbone.path = options.backbone_path;
  backbone.threads = options.threads;
  if (!std::filesystem::exists(backbone.path)) {
    throw Error(path, "its backbone " + backbone.path +
                          " is missing (pass the backbone's new path)");
  }
  std::string sha256 = sha256_file(backbone.path);
  if (sha256 != info.backbone_sha256) {
    throw Error(backbone.path, "not the backbone " + path +
                                   " was trained with (SHA-256 " + sha256 +
                                   ", expected " + info.backbone_sha256 + ")");
  }
  auto opened = Backbone::open(backbone);
  return opened;
}

}  // namespace

void register_model_loader(const std::string& type, ModelLoader loader) {
  std::lock_guard<std::mutex> lock(registry().mutex);
  registry().loaders[type] = std::move(loader);
}

void register_trainer(const std::string& type, Trainer trainer) {
  std::lock_guard<std::mutex> lock(registry().mutex);
  registry().trainers[type] = std::move(trainer);
}

std::vector<std::string> registered_model_types() {
  register_builtin_models();
  std::lock_guard<std::mutex> lock(registry().mutex);
  std::vector<std::string> types;
  for (const auto& [name, unused] : registry().trainers) types.push_back(name);
  return types;
}

void save_model(const std::string& path, const Model& model,
                const ModelInfo& info) {
  TensorFile file;
  file.metadata["vigil"] = header_of(model, info).dump();
  model.write_tensors(file);
  file.save(path);
}

LoadedModel load_model(const std::string& path, const LoadOptions& options) {
  if (is_onnx_path(path)) return load_onnx_model(path, options);
  auto start = std::chrono::steady_clock::now();
  TensorFile file = TensorFile::load(path);
  auto it = file.metadata.find("vigil");
  if (it == file.metadata.end()) {
    throw Error(path, "a safetensors file, but not a vigil model");
  }
  LoadedModel loaded;
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(it->second);
    loaded.info = info_from(header);
  } catch (const nlohmann::json::exception& e) {
    throw Error(path, std::string("bad model header: ") + e.what());
  }
  ModelLoader loader =
      find_registered(registry().loaders, loaded.info.type, path);
  loaded.model = loader(header.at("config"), file,
                        open_checked_backbone(loaded.info, options, path));
  double ms = std::chrono::duration<double, std::milli>(
                  std::chrono::steady_clock::now() - start)
                  .count();
  spdlog::info("loaded {} model {} in {:.0f} ms", loaded.info.type, path, ms);
  return loaded;
}

std::unique_ptr<Model> train_model(const TrainRequest& request,
                                   const TrainingSet& normal) {
  std::unique_ptr<Backbone> backbone;
  if (!request.backbone.path.empty()) {
    backbone = Backbone::open(request.backbone);
  }
  return train_model_with_backbone(request, normal, std::move(backbone));
}

std::unique_ptr<Model> train_model_with_backbone(
    const TrainRequest& request, const TrainingSet& normal,
    std::unique_ptr<Backbone> backbone) {
  Trainer trainer =
      find_registered(registry().trainers, request.type, "--model");
  if (normal.n == 0) throw Error("training set", "holds no image");
  return trainer(request, normal, std::move(backbone));
}

}  // namespace vigil
