#include "models/fastflow/flow.h"

#include <cmath>
#include <string>

#include <torch/torch.h>

namespace vigil {

AllInOneBlockImpl::AllInOneBlockImpl(std::int64_t channels, std::int64_t kernel,
                                     double hidden_ratio, double clamp)
    : c1_(channels - channels / 2), c2_(channels / 2), clamp_(clamp) {
  const std::int64_t hidden = std::int64_t(double(c1_) * hidden_ratio);
  conv1_ = register_module(
      "conv1",
      torch::nn::Conv2d(
          torch::nn::Conv2dOptions(c1_, hidden, kernel).padding(kernel / 2)));
  conv2_ = register_module(
      "conv2",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(hidden, 2 * c2_, kernel)
                            .padding(kernel / 2)));
  // softplus_0.5(v) * 0.1 == 1 at v = 2 log(e^5 - 1): the step starts as a
  // pure coupling with unit global scale (FrEIA's global_affine_init 1).
  const double initial = 2.0 * std::log(std::exp(5.0) - 1.0);
  global_scale_ = register_parameter("global_scale",
                                     torch::full({1, channels, 1, 1}, initial));
  global_offset_ =
      register_parameter("global_offset", torch::zeros({1, channels, 1, 1}));
  perm_ = register_buffer("perm", torch::randperm(channels, torch::kLong));
}

torch::Tensor AllInOneBlockImpl::global_gain() const {
  return 0.1 * torch::nn::functional::softplus(
                   global_scale_,
                   torch::nn::functional::SoftplusFuncOptions().beta(0.5));
}

std::pair<torch::Tensor, torch::Tensor> AllInOneBlockImpl::coupling(
    const torch::Tensor& x1) {
  torch::Tensor a = 0.1 * conv2_->forward(torch::relu(conv1_->forward(x1)));
  torch::Tensor s = clamp_ * torch::tanh(a.slice(1, 0, c2_));
  return {s, a.slice(1, c2_)};
}

std::pair<torch::Tensor, torch::Tensor> AllInOneBlockImpl::forward(
    const torch::Tensor& x) {
  torch::Tensor x1 = x.slice(1, 0, c1_), x2 = x.slice(1, c1_);
  auto [s, t] = coupling(x1);
  torch::Tensor u = torch::cat({x1, x2 * torch::exp(s) + t}, 1);
  torch::Tensor g = global_gain();
  torch::Tensor z = (u * g + global_offset_).index_select(1, perm_);
  const double pixels = double(x.size(2) * x.size(3));
  torch::Tensor log_det = s.sum({1, 2, 3}) + pixels * torch::log(g).sum();
  return {z, log_det};
}

torch::Tensor AllInOneBlockImpl::inverse(const torch::Tensor& z) {
  torch::Tensor u = z.index_select(1, torch::argsort(perm_));
  u = (u - global_offset_) / global_gain();
  torch::Tensor x1 = u.slice(1, 0, c1_), y2 = u.slice(1, c1_);
  auto [s, t] = coupling(x1);
  return torch::cat({x1, (y2 - t) * torch::exp(-s)}, 1);
}

NormalizingFlowImpl::NormalizingFlowImpl(std::int64_t channels,
                                         const FlowParams& p) {
  for (int i = 0; i < p.flow_steps; ++i) {
    std::int64_t kernel = (i % 2 == 1 && !p.conv3x3_only) ? 1 : 3;
    steps_.push_back(register_module(
        "step" + std::to_string(i),
        AllInOneBlock(channels, kernel, p.hidden_ratio, p.clamp)));
  }
}

std::pair<torch::Tensor, torch::Tensor> NormalizingFlowImpl::forward(
    const torch::Tensor& x) {
  torch::Tensor z = x;
  torch::Tensor log_det = torch::zeros({x.size(0)}, x.options());
  for (AllInOneBlock& step : steps_) {
    auto [next, step_log_det] = step->forward(z);
    z = next;
    log_det = log_det + step_log_det;
  }
  return {z, log_det};
}

torch::Tensor NormalizingFlowImpl::inverse(const torch::Tensor& z) {
  torch::Tensor x = z;
  for (auto it = steps_.rbegin(); it != steps_.rend(); ++it) {
    x = (*it)->inverse(x);
  }
  return x;
}

}  // namespace vigil
