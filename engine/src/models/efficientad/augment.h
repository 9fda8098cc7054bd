// EfficientAD's image augmentations, on preprocessed tensors: the
// autoencoder's colour jitter and the penalty images.
#pragma once

#include <string>
#include <vector>

#include <torch/types.h>

#include "vigil/preprocess.h"

namespace vigil {

// Converts between preprocessed tensors and pixel values (0 .. 255 *
// scale, RGB weights in the tensor's channel order).
class PixelSpace {
 public:
  explicit PixelSpace(const Preprocess& p);
  torch::Tensor to_pixels(const torch::Tensor& x) const;
  torch::Tensor from_pixels(const torch::Tensor& pixels) const;
  // n x 1 x H x W luma (0.299 R + 0.587 G + 0.114 B, as torchvision).
  torch::Tensor gray(const torch::Tensor& pixels) const;
  double max_value() const { return max_value_; }

 private:
  torch::Tensor mean_, std_, luma_;  // 1 x 3 x 1 x 1, tensor channel order
  double max_value_;
};

// One of brightness, contrast or saturation (chosen uniformly) changed by
// a factor drawn from U(0.8, 1.2), as torchvision's adjust_* functions on
// [0, max] images; the same for the whole batch (as anomalib). x: n x 3 x
// H x W, preprocessed. Draws from LibTorch's global generator.
torch::Tensor colour_jitter(const torch::Tensor& x, const PixelSpace& space);

// Random images from a folder for the penalty term, decoded when drawn:
// resized to twice the input size, centre-cropped to it, 30 % made gray
// (anomalib's ImageNet pipeline), then preprocessed.
class PenaltyImages {
 public:
  // Throws vigil::Error naming the folder when it holds no images.
  PenaltyImages(const std::string& folder, const Preprocess& preprocess);
  // n x 3 x height x width, preprocessed. Throws vigil::Error naming a
  // file that cannot be read.
  torch::Tensor draw(int n) const;
  std::size_t size() const { return paths_.size(); }

 private:
  std::vector<std::string> paths_;
  Preprocess preprocess_;
};

}  // namespace vigil
