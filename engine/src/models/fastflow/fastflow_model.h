// The FastFlow network (per-scale LayerNorm and flow) and the vigil::Model
// that scores with it. See vigil/fastflow.h for the method.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>
#include <nlohmann/json.hpp>

#include "models/fastflow/flow.h"
#include "vigil/backbone.h"
#include "vigil/fastflow.h"
#include "vigil/model.h"

namespace vigil {

// One backbone tap's feature shape.
struct FastFlowTap {
  std::string layer;
  std::int64_t channels = 0, height = 0, width = 0;
};

class FastFlowScaleImpl : public torch::nn::Module {
 public:
  FastFlowScaleImpl(const FastFlowTap& tap, const FlowParams& params);
  torch::nn::LayerNorm norm{nullptr};
  NormalizingFlow flow{nullptr};
};
TORCH_MODULE(FastFlowScale);

// z and log|det dz/dx| of one scale.
using FlowOutput = std::pair<torch::Tensor, torch::Tensor>;

class FastFlowNetImpl : public torch::nn::Module {
 public:
  FastFlowNetImpl(const std::vector<FastFlowTap>& taps,
                  const FlowParams& params);

  // features[j]: n x c_j x h_j x w_j, the backbone's tap j.
  std::vector<FlowOutput> forward(const std::vector<torch::Tensor>& features);

 private:
  std::vector<FastFlowScale> scales_;
};
TORCH_MODULE(FastFlowNet);

// sum over scales of mean over images of 0.5 * sum(z^2) - log|det|.
torch::Tensor fastflow_loss(const std::vector<FlowOutput>& outputs);
// n x height x width: mean over scales of -exp(-0.5 * mean_c(z^2)),
// upsampled bilinearly.
torch::Tensor fastflow_anomaly_map(const std::vector<FlowOutput>& outputs,
                                   int height, int width);

FlowParams flow_params(const FastFlowOptions& options);

// The model that scores images with a trained net.
std::unique_ptr<Model> make_fastflow_model(const FastFlowOptions& options,
                                           std::vector<FastFlowTap> taps,
                                           int input_height, int input_width,
                                           FastFlowNet net,
                                           std::unique_ptr<Backbone> backbone);

// Rebuilds a model written by save_model().
std::unique_ptr<Model> load_fastflow(const nlohmann::json& config,
                                     const TensorFile& file,
                                     std::unique_ptr<Backbone> backbone);

}  // namespace vigil
