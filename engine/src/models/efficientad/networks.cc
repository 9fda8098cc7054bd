#include "models/efficientad/networks.h"

#include <algorithm>

#include <torch/torch.h>

#include "vigil/error.h"

namespace vigil {
namespace {

namespace F = torch::nn::functional;

struct ConvSpec {
  std::int64_t in, out, kernel, padding;
};

// anomalib's layers; `padding` holds the padded variant's padding.
std::vector<ConvSpec> pdn_layers(PdnSize size, std::int64_t out) {
  if (size == PdnSize::kSmall) {
    return {
        {3, 128, 4, 3}, {128, 256, 4, 3}, {256, 256, 3, 1}, {256, out, 4, 0}};
  }
  return {{3, 256, 4, 3},   {256, 512, 4, 3}, {512, 512, 1, 0},
          {512, 512, 3, 1}, {512, out, 4, 0}, {out, out, 1, 0}};
}

std::int64_t conv_size(std::int64_t in, std::int64_t kernel,
                       std::int64_t padding, std::int64_t stride) {
  return (in + 2 * padding - kernel) / stride + 1;
}

torch::Tensor avg_pool(const torch::Tensor& x, bool padding) {
  return F::avg_pool2d(
      x, F::AvgPool2dFuncOptions(2).stride(2).padding(padding ? 1 : 0));
}

torch::Tensor resize(const torch::Tensor& x,
                     const std::vector<std::int64_t>& size) {
  return F::interpolate(x, F::InterpolateFuncOptions()
                               .size(size)
                               .mode(torch::kBilinear)
                               .align_corners(false));
}

}  // namespace

PdnSize pdn_size_from_name(const std::string& name) {
  if (name == "small") return PdnSize::kSmall;
  if (name == "medium") return PdnSize::kMedium;
  throw Error("model_size '" + name + "'", "must be small or medium");
}

std::int64_t pdn_output_size(PdnSize pdn, bool padding, std::int64_t size) {
  std::vector<ConvSpec> layers = pdn_layers(pdn, 1);
  for (std::size_t i = 0; i < layers.size(); ++i) {
    size =
        conv_size(size, layers[i].kernel, padding ? layers[i].padding : 0, 1);
    if (i < 2) size = conv_size(size, 2, padding ? 1 : 0, 2);
  }
  return size;
}

PdnImpl::PdnImpl(PdnSize size, std::int64_t out_channels, bool padding)
    : size_(size), padding_(padding) {
  std::vector<ConvSpec> layers = pdn_layers(size, out_channels);
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const ConvSpec& l = layers[i];
    convs_.push_back(register_module(
        "conv" + std::to_string(i + 1),
        torch::nn::Conv2d(torch::nn::Conv2dOptions(l.in, l.out, l.kernel)
                              .padding(padding ? l.padding : 0))));
  }
}

// conv, ReLU, pool after the first two; no ReLU after the last.
torch::Tensor PdnImpl::forward(const torch::Tensor& input) {
  torch::Tensor x = input;
  for (std::size_t i = 0; i < convs_.size(); ++i) {
    x = convs_[i]->forward(x);
    if (i + 1 == convs_.size()) break;
    x = torch::relu(x);
    if (i < 2) x = avg_pool(x, padding_);
  }
  return x;
}

AutoEncoderImpl::AutoEncoderImpl(std::int64_t out_channels, std::int64_t height,
                                 std::int64_t width, std::int64_t out_height,
                                 std::int64_t out_width) {
  // Encoder: five 4x4 stride-2 convolutions, then one that covers what is
  // left (8 x 8 at 256 px, the paper's) into a 1 x 1 code of 64 channels.
  // Named "encoder.enconv1" etc., as anomalib's state dict.
  auto encoder =
      register_module("encoder", std::make_shared<torch::nn::Module>());
  auto decoder =
      register_module("decoder", std::make_shared<torch::nn::Module>());
  std::int64_t h = height, w = width;
  const std::int64_t widths[] = {3, 32, 32, 64, 64, 64};
  for (int i = 0; i < 5; ++i) {
    encoder_.push_back(encoder->register_module(
        "enconv" + std::to_string(i + 1),
        torch::nn::Conv2d(torch::nn::Conv2dOptions(widths[i], widths[i + 1], 4)
                              .stride(2)
                              .padding(1))));
    h = conv_size(h, 4, 1, 2), w = conv_size(w, 4, 1, 2);
  }
  if (h < 1 || w < 1) throw Error("efficientad", "input too small");
  std::vector<std::int64_t> last{std::min<std::int64_t>(8, h),
                                 std::min<std::int64_t>(8, w)};
  encoder_.push_back(encoder->register_module(
      "enconv6", torch::nn::Conv2d(torch::nn::Conv2dOptions(64, 64, last))));

  // Decoder: resize, 4x4 convolution (padding 2), ReLU, dropout, six times,
  // at anomalib's sizes relative to the input; then two 3x3 convolutions.
  auto at = [](std::int64_t size, int divisor, int minus) {
    return std::max<std::int64_t>(1, size / divisor - minus);
  };
  const int divisors[] = {64, 32, 16, 8, 4, 2};
  const int minus[] = {1, 0, 1, 0, 1, 1};
  for (int i = 0; i < 6; ++i) {
    resize_.push_back(
        {at(height, divisors[i], minus[i]), at(width, divisors[i], minus[i])});
    decoder_.push_back(decoder->register_module(
        "deconv" + std::to_string(i + 1),
        torch::nn::Conv2d(torch::nn::Conv2dOptions(64, 64, 4).padding(2))));
    dropouts_.push_back(decoder->register_module(
        "dropout" + std::to_string(i + 1), torch::nn::Dropout(0.2)));
  }
  resize_.push_back({out_height, out_width});
  decoder_.push_back(decoder->register_module(
      "deconv7",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(64, 64, 3).padding(1))));
  decoder_.push_back(decoder->register_module(
      "deconv8",
      torch::nn::Conv2d(
          torch::nn::Conv2dOptions(64, out_channels, 3).padding(1))));
}

torch::Tensor AutoEncoderImpl::encode(torch::Tensor x) {
  for (std::size_t i = 0; i + 1 < encoder_.size(); ++i) {
    x = torch::relu(encoder_[i]->forward(x));
  }
  return encoder_.back()->forward(x);
}

torch::Tensor AutoEncoderImpl::decode(torch::Tensor x) {
  for (std::size_t i = 0; i < dropouts_.size(); ++i) {
    x = torch::relu(decoder_[i]->forward(resize(x, resize_[i])));
    x = dropouts_[i]->forward(x);
  }
  x = torch::relu(decoder_[6]->forward(resize(x, resize_[6])));
  return decoder_[7]->forward(x);
}

torch::Tensor AutoEncoderImpl::forward(const torch::Tensor& x) {
  return decode(encode(x));
}

}  // namespace vigil
