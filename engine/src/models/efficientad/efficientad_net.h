// EfficientAD's teacher, student and autoencoder together, with the
// teacher's channel statistics and the map quantiles, and the losses.
// See vigil/efficientad.h for the method.
#pragma once

#include <cstdint>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include "models/efficientad/networks.h"

namespace vigil {

// Everything that fixes the networks' shapes.
struct EfficientAdArch {
  PdnSize size = PdnSize::kSmall;
  std::int64_t channels = 384;  // the teacher's; the student has twice
  bool padding = false;
  bool pad_maps = true;
  std::int64_t height = 256, width = 256;  // input size
};

// Raw maps, n x 1 x height x width, before the quantile normalisation.
struct EfficientAdMaps {
  torch::Tensor st, ae;
};

class EfficientAdNetImpl : public torch::nn::Module {
 public:
  explicit EfficientAdNetImpl(const EfficientAdArch& arch);

  // (teacher(x) - teacher_mean) / teacher_std, without gradients.
  torch::Tensor teacher_features(const torch::Tensor& x);
  EfficientAdMaps raw_maps(const torch::Tensor& x);
  // 0.5 * st + 0.5 * ae, each normalised by its quantiles: n x H x W.
  torch::Tensor anomaly_map(const torch::Tensor& x);
  // The raw maps padded (when the arch says so) and resized to the input.
  torch::Tensor to_input_size(const torch::Tensor& map) const;

  const EfficientAdArch& arch() const { return arch_; }

  Pdn teacher{nullptr}, student{nullptr};
  AutoEncoder ae{nullptr};
  // 1 x C x 1 x 1; zeros and ones until set from the training images.
  torch::Tensor teacher_mean, teacher_std;
  // Shape {1} each; 0 and 0.1 (no change) until set from validation.
  torch::Tensor qa_st, qb_st, qa_ae, qb_ae;

 private:
  EfficientAdArch arch_;
};
TORCH_MODULE(EfficientAdNet);

// The mean of the squared distances at or above their `quantile` (on a
// random subset of 2^24 of them when there are more).
torch::Tensor hard_feature_loss(const torch::Tensor& squared_distances,
                                double quantile);

// The losses of one training step on images x (and penalty images p,
// undefined for none), with x_augmented the autoencoder's input.
struct EfficientAdLosses {
  torch::Tensor hard, penalty, ae, stae;  // penalty undefined without p
  torch::Tensor total() const;
};
EfficientAdLosses efficientad_losses(EfficientAdNet& net,
                                     const torch::Tensor& x,
                                     const torch::Tensor& x_augmented,
                                     const torch::Tensor& p,
                                     double hard_quantile);

// 0.1 * (map - qa) / (qb - qa).
torch::Tensor normalize_with(const torch::Tensor& map, const torch::Tensor& qa,
                             const torch::Tensor& qb);

}  // namespace vigil
