// EfficientAD's networks in LibTorch, with anomalib's layer names and
// shapes: the patch description network (PDN, small and medium) and the
// autoencoder. All plain convolutions, ReLU, average pooling and bilinear
// resizing, so each exports to ONNX as it is.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

namespace vigil {

enum class PdnSize { kSmall, kMedium };

// Throws vigil::Error for another name than "small" or "medium".
PdnSize pdn_size_from_name(const std::string& name);

// The PDN's output height (or width) for an input of `size` px.
std::int64_t pdn_output_size(PdnSize pdn, bool padding, std::int64_t size);

class PdnImpl : public torch::nn::Module {
 public:
  PdnImpl(PdnSize size, std::int64_t out_channels, bool padding);
  // x: n x 3 x H x W, preprocessed. Returns n x out_channels x h x w.
  torch::Tensor forward(const torch::Tensor& x);

 private:
  PdnSize size_;
  bool padding_;
  std::vector<torch::nn::Conv2d> convs_;
};
TORCH_MODULE(Pdn);

class AutoEncoderImpl : public torch::nn::Module {
 public:
  // The decoder's resizes depend on the input size; its last one lands on
  // the PDN's output size (`out_height` x `out_width`).
  AutoEncoderImpl(std::int64_t out_channels, std::int64_t height,
                  std::int64_t width, std::int64_t out_height,
                  std::int64_t out_width);
  // x: n x 3 x height x width. Returns n x out_channels x out_h x out_w.
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::Tensor encode(torch::Tensor x);
  torch::Tensor decode(torch::Tensor x);

  std::vector<torch::nn::Conv2d> encoder_, decoder_;
  std::vector<torch::nn::Dropout> dropouts_;
  std::vector<std::vector<std::int64_t>> resize_;  // decoder target sizes
};
TORCH_MODULE(AutoEncoder);

}  // namespace vigil
