#include "models/efficientad/efficientad_model.h"

#include <chrono>

#include <torch/torch.h>

#include "models/torch_util.h"
#include "vigil/error.h"
#include "vigil/stopwatch.h"

namespace vigil {
namespace {

// Below this the unpadded PDN's output shrinks to a few cells.
constexpr int kMinInputSize = 64;

class EfficientAdModel : public Model {
 public:
  EfficientAdModel(const EfficientAdOptions& options, EfficientAdNet net)
      : options_(options), net_(std::move(net)) {
    net_->eval();
  }

  std::string type() const override { return "efficientad"; }
  const Backbone* backbone() const override { return nullptr; }

  nlohmann::json config() const override {
    return {{"options", to_json(options_)},
            {"input_height", net_->arch().height},
            {"input_width", net_->arch().width}};
  }

  void write_tensors(TensorFile& file) const override {
    write_module(*net_, "", file);
  }

  RawOutput score(const float* images, int n, int height, int width,
                  StageTimes* times) const override {
    if (height != net_->arch().height || width != net_->arch().width) {
      throw Error("efficientad", "input " + std::to_string(height) + "x" +
                                     std::to_string(width) +
                                     " differs from the trained " +
                                     std::to_string(net_->arch().height) + "x" +
                                     std::to_string(net_->arch().width));
    }
    auto start = Clock::now();
    torch::InferenceMode inference;
    torch::Tensor map =
        net_->anomaly_map(tensor_from(images, {n, 3, height, width}));
    RawOutput out{n, height, width, to_floats(map),
                  to_floats(map.flatten(1).amax(1))};
    if (times) {
      times->scoring_ms +=
          std::chrono::duration<double, std::milli>(Clock::now() - start)
              .count();
    }
    return out;
  }

 private:
  EfficientAdOptions options_;
  // LibTorch's forward() is not const; in eval mode it changes nothing.
  mutable EfficientAdNet net_;
};

}  // namespace

EfficientAdArch efficientad_arch(const EfficientAdOptions& o, int height,
                                 int width) {
  if (height < kMinInputSize || width < kMinInputSize) {
    throw Error("efficientad", "input " + std::to_string(height) + "x" +
                                   std::to_string(width) +
                                   " is below the minimum of 64x64 px");
  }
  EfficientAdArch arch;
  arch.size = pdn_size_from_name(o.model_size);
  arch.channels = o.teacher_channels;
  arch.padding = o.padding;
  arch.pad_maps = o.pad_maps;
  arch.height = height;
  arch.width = width;
  return arch;
}

std::unique_ptr<Model> make_efficientad_model(const EfficientAdOptions& o,
                                              EfficientAdNet net) {
  return std::make_unique<EfficientAdModel>(o, std::move(net));
}

std::unique_ptr<Model> load_efficientad(const nlohmann::json& config,
                                        const TensorFile& file,
                                        std::unique_ptr<Backbone>) {
  EfficientAdOptions options;
  int height = 0, width = 0;
  try {
    options = efficientad_options_from_json(config.at("options"));
    height = config.at("input_height").get<int>();
    width = config.at("input_width").get<int>();
  } catch (const nlohmann::json::exception& e) {
    throw Error("efficientad config", e.what());
  }
  EfficientAdNet net(efficientad_arch(options, height, width));
  read_module(*net, "", file);
  return make_efficientad_model(options, std::move(net));
}

float hard_feature_loss(const float* distances, std::size_t n,
                        double quantile) {
  VIGIL_ASSERT(n > 0);
  torch::NoGradGuard no_grad;
  torch::Tensor d = tensor_from(distances, {std::int64_t(n)});
  return hard_feature_loss(d, quantile).item<float>();
}

MapQuantiles map_quantiles(const float* values, std::size_t n, double qa,
                           double qb) {
  VIGIL_ASSERT(n > 0);
  torch::NoGradGuard no_grad;
  torch::Tensor v = flat_sample(tensor_from(values, {std::int64_t(n)}));
  return {torch::quantile(v, qa).item<float>(),
          torch::quantile(v, qb).item<float>()};
}

void normalize_map(float* map, std::size_t n, const MapQuantiles& q) {
  for (std::size_t i = 0; i < n; ++i) {
    map[i] = 0.1f * (map[i] - q.a) / (q.b - q.a);
  }
}

}  // namespace vigil
