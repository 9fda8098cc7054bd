// FastFlow's normalising flow in LibTorch: FrEIA's AllInOneBlock (affine
// coupling, global affine scaling, hard permutation) and a stack of them
// for one scale. The maths is written out in vigil/fastflow.h (FlowStack).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace vigil {

struct FlowParams {
  int flow_steps = 8;
  double hidden_ratio = 1.0;
  double clamp = 2.0;
  bool conv3x3_only = false;
};

class AllInOneBlockImpl : public torch::nn::Module {
 public:
  // The permutation is drawn from LibTorch's global generator.
  AllInOneBlockImpl(std::int64_t channels, std::int64_t kernel,
                    double hidden_ratio, double clamp);

  // x: n x c x h x w. Returns z and log|det dz/dx| (n).
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x);
  torch::Tensor inverse(const torch::Tensor& z);

 private:
  // The coupling's log-scale s and shift t, from the passive half x1.
  std::pair<torch::Tensor, torch::Tensor> coupling(const torch::Tensor& x1);
  // g = 0.1 * softplus(global_scale, beta 0.5).
  torch::Tensor global_gain() const;

  std::int64_t c1_, c2_;
  double clamp_;
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::Tensor global_scale_, global_offset_, perm_;
};
TORCH_MODULE(AllInOneBlock);

class NormalizingFlowImpl : public torch::nn::Module {
 public:
  NormalizingFlowImpl(std::int64_t channels, const FlowParams& params);

  // x: n x c x h x w. Returns z and log|det dz/dx| (n).
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x);
  torch::Tensor inverse(const torch::Tensor& z);

 private:
  std::vector<AllInOneBlock> steps_;
};
TORCH_MODULE(NormalizingFlow);

}  // namespace vigil
