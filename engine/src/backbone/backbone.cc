#include "vigil/backbone.h"

#include <chrono>
#include <fstream>
#include <mutex>
#include <sstream>

#include <onnxruntime_cxx_api.h>
#include <spdlog/spdlog.h>

#include "backbone/graph_cut.h"
#include "common/ort_util.h"
#include "common/sha256.h"
#include "vigil/error.h"

namespace vigil {
namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path, "cannot open (missing or unreadable)");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

class OrtBackbone : public Backbone {
 public:
  explicit OrtBackbone(const BackboneOptions& options) : options_(options) {
    auto start = std::chrono::steady_clock::now();
    std::string bytes = read_text(options.path);
    sha256_ = hex_sha256(bytes);
    std::string cut = cut_at_taps(bytes, options.layers, options.path);

    try {
      session_ = std::make_unique<Ort::Session>(
          ort_env(), cut.data(), cut.size(), session_options(options.threads));
    } catch (const Ort::Exception& e) {
      throw Error(options.path, std::string("ONNX Runtime: ") + e.what());
    }
    Ort::AllocatorWithDefaultOptions allocator;
    input_name_ = session_->GetInputNameAllocated(0, allocator).get();
    double ms = std::chrono::duration<double, std::milli>(
                    std::chrono::steady_clock::now() - start)
                    .count();
    spdlog::debug("backbone {} cut at {} tap(s), loaded in {:.0f} ms",
                  options.path, options.layers.size(), ms);
  }

  std::vector<FeatureMap> extract(const float* images, int n, int height,
                                  int width) const override {
    Ort::Value input = image_tensor(images, n, height, width);

    std::vector<const char*> output_names;
    for (const std::string& layer : options_.layers) {
      output_names.push_back(layer.c_str());
    }
    const char* input_name = input_name_.c_str();
    std::vector<Ort::Value> outputs;
    try {
      outputs = session_->Run(Ort::RunOptions{nullptr}, &input_name, &input, 1,
                              output_names.data(), output_names.size());
    } catch (const Ort::Exception& e) {
      throw Error(options_.path, std::string("inference failed: ") + e.what());
    }
    return to_feature_maps(outputs);
  }

  const BackboneOptions& options() const override { return options_; }
  const std::string& sha256() const override { return sha256_; }

 private:
  std::vector<FeatureMap> to_feature_maps(
      std::vector<Ort::Value>& outputs) const {
    std::vector<FeatureMap> maps;
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      auto info = outputs[i].GetTensorTypeAndShapeInfo();
      std::vector<std::int64_t> dims = info.GetShape();
      VIGIL_ASSERT(dims.size() == 4);
      FeatureMap map;
      map.name = options_.layers[i];
      map.n = dims[0], map.c = dims[1], map.h = dims[2], map.w = dims[3];
      const float* data = outputs[i].GetTensorData<float>();
      map.data.assign(data, data + info.GetElementCount());
      maps.push_back(std::move(map));
    }
    return maps;
  }

  BackboneOptions options_;
  std::string sha256_;
  std::string input_name_;
  std::unique_ptr<Ort::Session> session_;
};

}  // namespace

std::unique_ptr<Backbone> Backbone::open(const BackboneOptions& options) {
  return std::make_unique<OrtBackbone>(options);
}

std::string sha256_file(const std::string& path) {
  return hex_sha256(read_text(path));
}

}  // namespace vigil
