#include "models/efficientad/efficientad_net.h"

#include <torch/torch.h>

#include "models/torch_util.h"

namespace vigil {
namespace {

namespace F = torch::nn::functional;

// anomalib pads the unpadded PDN's maps by 4 cells on each side, where the
// padded PDN would have its border outputs.
constexpr std::int64_t kMapPadding = 4;

}  // namespace

EfficientAdNetImpl::EfficientAdNetImpl(const EfficientAdArch& arch)
    : arch_(arch) {
  const std::int64_t c = arch.channels;
  teacher = register_module("teacher", Pdn(arch.size, c, arch.padding));
  student = register_module("student", Pdn(arch.size, 2 * c, arch.padding));
  const std::int64_t out_h =
      pdn_output_size(arch.size, arch.padding, arch.height);
  const std::int64_t out_w =
      pdn_output_size(arch.size, arch.padding, arch.width);
  ae = register_module("ae",
                       AutoEncoder(c, arch.height, arch.width, out_h, out_w));
  teacher_mean = register_buffer("teacher_mean", torch::zeros({1, c, 1, 1}));
  teacher_std = register_buffer("teacher_std", torch::ones({1, c, 1, 1}));
  qa_st = register_buffer("qa_st", torch::zeros({1}));
  qb_st = register_buffer("qb_st", torch::full({1}, 0.1));
  qa_ae = register_buffer("qa_ae", torch::zeros({1}));
  qb_ae = register_buffer("qb_ae", torch::full({1}, 0.1));
  for (torch::Tensor& p : teacher->parameters()) p.set_requires_grad(false);
}

torch::Tensor EfficientAdNetImpl::teacher_features(const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  return (teacher->forward(x) - teacher_mean) / teacher_std;
}

torch::Tensor EfficientAdNetImpl::to_input_size(
    const torch::Tensor& map) const {
  torch::Tensor m = map;
  if (arch_.pad_maps && !arch_.padding) {
    m = F::pad(m, F::PadFuncOptions(
                      {kMapPadding, kMapPadding, kMapPadding, kMapPadding}));
  }
  return F::interpolate(
      m, F::InterpolateFuncOptions()
             .size(std::vector<std::int64_t>{arch_.height, arch_.width})
             .mode(torch::kBilinear)
             .align_corners(false));
}

EfficientAdMaps EfficientAdNetImpl::raw_maps(const torch::Tensor& x) {
  const std::int64_t c = arch_.channels;
  torch::Tensor t = teacher_features(x);
  torch::Tensor s = student->forward(x);
  torch::Tensor a = ae->forward(x);
  torch::Tensor st = (t - s.slice(1, 0, c)).pow(2).mean(1, true);
  torch::Tensor stae = (a - s.slice(1, c)).pow(2).mean(1, true);
  return {to_input_size(st), to_input_size(stae)};
}

torch::Tensor EfficientAdNetImpl::anomaly_map(const torch::Tensor& x) {
  EfficientAdMaps maps = raw_maps(x);
  torch::Tensor st = normalize_with(maps.st, qa_st, qb_st);
  torch::Tensor ae_map = normalize_with(maps.ae, qa_ae, qb_ae);
  return (0.5 * st + 0.5 * ae_map).squeeze(1);
}

torch::Tensor normalize_with(const torch::Tensor& map, const torch::Tensor& qa,
                             const torch::Tensor& qb) {
  return 0.1 * (map - qa) / (qb - qa);
}

torch::Tensor hard_feature_loss(const torch::Tensor& squared_distances,
                                double quantile) {
  torch::Tensor d = flat_sample(squared_distances);
  torch::Tensor d_hard = torch::quantile(d, quantile);
  return d.masked_select(d >= d_hard).mean();
}

torch::Tensor EfficientAdLosses::total() const {
  torch::Tensor loss = hard + ae + stae;
  return penalty.defined() ? loss + penalty : loss;
}

EfficientAdLosses efficientad_losses(EfficientAdNet& net,
                                     const torch::Tensor& x,
                                     const torch::Tensor& x_augmented,
                                     const torch::Tensor& p,
                                     double hard_quantile) {
  const std::int64_t c = net->arch().channels;
  EfficientAdLosses losses;
  torch::Tensor student = net->student->forward(x).slice(1, 0, c);
  losses.hard = hard_feature_loss((net->teacher_features(x) - student).pow(2),
                                  hard_quantile);
  if (p.defined()) {
    losses.penalty = net->student->forward(p).slice(1, 0, c).pow(2).mean();
  }
  torch::Tensor ae = net->ae->forward(x_augmented);
  torch::Tensor teacher = net->teacher_features(x_augmented);
  torch::Tensor student_ae = net->student->forward(x_augmented).slice(1, c);
  losses.ae = (teacher - ae).pow(2).mean();
  losses.stae = (ae - student_ae).pow(2).mean();
  return losses;
}

}  // namespace vigil
