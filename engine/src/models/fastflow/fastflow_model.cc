#include "models/fastflow/fastflow_model.h"

#include <chrono>

#include <torch/torch.h>

#include "models/torch_util.h"
#include "vigil/error.h"
#include "vigil/stopwatch.h"

namespace vigil {
namespace {

std::string shape_text(std::int64_t c, std::int64_t h, std::int64_t w) {
  return std::to_string(c) + "x" + std::to_string(h) + "x" + std::to_string(w);
}

nlohmann::json tap_json(const FastFlowTap& t) {
  return {{"layer", t.layer},
          {"channels", t.channels},
          {"height", t.height},
          {"width", t.width}};
}

FastFlowTap tap_from_json(const nlohmann::json& j) {
  return {j.at("layer").get<std::string>(), j.at("channels").get<int>(),
          j.at("height").get<int>(), j.at("width").get<int>()};
}

class FastFlowModel : public Model {
 public:
  FastFlowModel(const FastFlowOptions& options, std::vector<FastFlowTap> taps,
                int input_height, int input_width, FastFlowNet net,
                std::unique_ptr<Backbone> backbone)
      : options_(options),
        taps_(std::move(taps)),
        input_height_(input_height),
        input_width_(input_width),
        net_(std::move(net)),
        backbone_(std::move(backbone)) {
    net_->eval();
  }

  std::string type() const override { return "fastflow"; }
  const Backbone* backbone() const override { return backbone_.get(); }

  nlohmann::json config() const override {
    nlohmann::json taps = nlohmann::json::array();
    for (const FastFlowTap& t : taps_) taps.push_back(tap_json(t));
    return {{"options", to_json(options_)},
            {"input_height", input_height_},
            {"input_width", input_width_},
            {"taps", taps}};
  }

  void write_tensors(TensorFile& file) const override {
    write_module(*net_, "", file);
  }

  RawOutput score(const float* images, int n, int height, int width,
                  StageTimes* times) const override {
    check_input_size(height, width);
    auto start = Clock::now();
    std::vector<torch::Tensor> features =
        extract_taps(*backbone_, images, n, height, width);
    if (times) times->backbone_ms += ms_since(start);
    start = Clock::now();
    check_features(features);

    torch::InferenceMode inference;
    torch::Tensor map =
        fastflow_anomaly_map(net_->forward(features), height, width);
    RawOutput out{n, height, width, to_floats(map),
                  to_floats(map.flatten(1).amax(1))};
    if (times) times->scoring_ms += ms_since(start);
    return out;
  }

 private:
  void check_input_size(int height, int width) const {
    if (height != input_height_ || width != input_width_) {
      throw Error("fastflow", "input " + std::to_string(height) + "x" +
                                  std::to_string(width) +
                                  " differs from the trained " +
                                  std::to_string(input_height_) + "x" +
                                  std::to_string(input_width_));
    }
  }

  void check_features(const std::vector<torch::Tensor>& features) const {
    VIGIL_ASSERT(features.size() == taps_.size());
    for (std::size_t j = 0; j < taps_.size(); ++j) {
      const FastFlowTap& t = taps_[j];
      const torch::Tensor& f = features[j];
      if (f.size(1) != t.channels || f.size(2) != t.height ||
          f.size(3) != t.width) {
        throw Error("fastflow tap '" + t.layer + "'",
                    "features " + shape_text(f.size(1), f.size(2), f.size(3)) +
                        " differ from the trained " +
                        shape_text(t.channels, t.height, t.width));
      }
    }
  }

  FastFlowOptions options_;
  std::vector<FastFlowTap> taps_;
  int input_height_, input_width_;
  // LibTorch's forward() is not const; in eval mode it changes nothing.
  mutable FastFlowNet net_;
  std::unique_ptr<Backbone> backbone_;
};

}  // namespace

FastFlowScaleImpl::FastFlowScaleImpl(const FastFlowTap& tap,
                                     const FlowParams& params) {
  norm = register_module(
      "norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions(
                                       {tap.channels, tap.height, tap.width})
                                       .elementwise_affine(true)));
  flow = register_module("flow", NormalizingFlow(tap.channels, params));
}

FastFlowNetImpl::FastFlowNetImpl(const std::vector<FastFlowTap>& taps,
                                 const FlowParams& params) {
  for (std::size_t j = 0; j < taps.size(); ++j) {
    scales_.push_back(register_module("scale" + std::to_string(j),
                                      FastFlowScale(taps[j], params)));
  }
}

std::vector<FlowOutput> FastFlowNetImpl::forward(
    const std::vector<torch::Tensor>& features) {
  VIGIL_ASSERT(features.size() == scales_.size());
  std::vector<FlowOutput> outputs;
  for (std::size_t j = 0; j < scales_.size(); ++j) {
    FastFlowScale& scale = scales_[j];
    outputs.push_back(scale->flow->forward(scale->norm->forward(features[j])));
  }
  return outputs;
}

torch::Tensor fastflow_loss(const std::vector<FlowOutput>& outputs) {
  torch::Tensor loss = torch::zeros({}, torch::kFloat);
  for (const auto& [z, log_det] : outputs) {
    loss = loss + (0.5 * z.pow(2).sum({1, 2, 3}) - log_det).mean();
  }
  return loss;
}

torch::Tensor fastflow_anomaly_map(const std::vector<FlowOutput>& outputs,
                                   int height, int width) {
  namespace F = torch::nn::functional;
  torch::Tensor sum;
  for (const auto& output : outputs) {
    torch::Tensor z = output.first;
    torch::Tensor probability = torch::exp(-0.5 * z.pow(2).mean(1, true));
    torch::Tensor map = F::interpolate(
        -probability, F::InterpolateFuncOptions()
                          .size(std::vector<std::int64_t>{height, width})
                          .mode(torch::kBilinear)
                          .align_corners(false));
    sum = sum.defined() ? sum + map : map;
  }
  return (sum / double(outputs.size())).squeeze(1);
}

FlowParams flow_params(const FastFlowOptions& o) {
  return {o.flow_steps, o.hidden_ratio, o.clamp, o.conv3x3_only};
}

std::unique_ptr<Model> make_fastflow_model(const FastFlowOptions& options,
                                           std::vector<FastFlowTap> taps,
                                           int input_height, int input_width,
                                           FastFlowNet net,
                                           std::unique_ptr<Backbone> backbone) {
  return std::make_unique<FastFlowModel>(options, std::move(taps), input_height,
                                         input_width, std::move(net),
                                         std::move(backbone));
}

std::unique_ptr<Model> load_fastflow(const nlohmann::json& config,
                                     const TensorFile& file,
                                     std::unique_ptr<Backbone> backbone) {
  FastFlowOptions options;
  std::vector<FastFlowTap> taps;
  int height = 0, width = 0;
  try {
    options = fastflow_options_from_json(config.at("options"));
    for (const nlohmann::json& t : config.at("taps")) {
      taps.push_back(tap_from_json(t));
    }
    height = config.at("input_height").get<int>();
    width = config.at("input_width").get<int>();
  } catch (const nlohmann::json::exception& e) {
    throw Error("fastflow config", e.what());
  }
  if (!backbone) throw Error("fastflow", "the model file has no backbone");
  std::vector<std::string> trained;
  for (const FastFlowTap& t : taps) trained.push_back(t.layer);
  if (backbone->options().layers != trained) {
    throw Error("fastflow", "backbone taps differ from the trained ones");
  }
  FastFlowNet net(taps, flow_params(options));
  read_module(*net, "", file);
  return make_fastflow_model(options, std::move(taps), height, width,
                             std::move(net), std::move(backbone));
}

}  // namespace vigil
