#include "models/efficientad/augment.h"

#include <torch/torch.h>
#include <opencv2/imgproc.hpp>

#include "vigil/dataset.h"
#include "vigil/error.h"
#include "vigil/image_io.h"

namespace vigil {
namespace {

// The preprocess's per-channel values in the tensor's channel order.
torch::Tensor channel_values(const std::array<float, 3>& rgb, bool bgr) {
  std::vector<float> v(rgb.begin(), rgb.end());
  if (bgr) std::swap(v[0], v[2]);
  return torch::tensor(v).view({1, 3, 1, 1});
}

constexpr double kGrayShare = 0.3;

}  // namespace

PixelSpace::PixelSpace(const Preprocess& p)
    : mean_(channel_values(p.mean, p.bgr)),
      std_(channel_values(p.std, p.bgr)),
      luma_(channel_values({0.299f, 0.587f, 0.114f}, p.bgr)),
      max_value_(255.0 * p.scale) {}

torch::Tensor PixelSpace::to_pixels(const torch::Tensor& x) const {
  return x * std_ + mean_;
}

torch::Tensor PixelSpace::from_pixels(const torch::Tensor& pixels) const {
  return (pixels - mean_) / std_;
}

torch::Tensor PixelSpace::gray(const torch::Tensor& pixels) const {
  return (pixels * luma_).sum(1, true);
}

torch::Tensor colour_jitter(const torch::Tensor& x, const PixelSpace& space) {
  const double factor = 0.8 + 0.4 * torch::rand({1}).item<double>();
  const std::int64_t kind = torch::randint(3, {1}).item<std::int64_t>();
  torch::Tensor pixels = space.to_pixels(x);
  torch::Tensor blended;
  if (kind == 0) {  // brightness: blend with black
    blended = factor * pixels;
  } else if (kind == 1) {  // contrast: blend with the mean gray level
    torch::Tensor mean = space.gray(pixels).mean({1, 2, 3}, true);
    blended = factor * pixels + (1.0 - factor) * mean;
  } else {  // saturation: blend with the gray image
    blended = factor * pixels + (1.0 - factor) * space.gray(pixels);
  }
  return space.from_pixels(blended.clamp(0.0, space.max_value()));
}

PenaltyImages::PenaltyImages(const std::string& folder,
                             const Preprocess& preprocess)
    : paths_(list_images(folder)), preprocess_(preprocess) {
  if (paths_.empty()) throw Error(folder, "no images for the penalty term");
  preprocess_.resize_height = 2 * preprocess.height;
  preprocess_.resize_width = 2 * preprocess.width;
}

torch::Tensor PenaltyImages::draw(int n) const {
  torch::Tensor out = torch::empty(
      {n, 3, preprocess_.height, preprocess_.width}, torch::kFloat);
  for (int i = 0; i < n; ++i) {
    std::int64_t pick =
        torch::randint(std::int64_t(paths_.size()), {1}).item<std::int64_t>();
    bool gray = torch::rand({1}).item<double>() < kGrayShare;
    cv::Mat rgb = read_image(paths_[pick]);
    if (gray) {
      cv::Mat luma;
      cv::cvtColor(rgb, luma, cv::COLOR_RGB2GRAY);
      cv::cvtColor(luma, rgb, cv::COLOR_GRAY2RGB);
    }
    preprocess(rgb, preprocess_, out[i].data_ptr<float>());
  }
  return out;
}

}  // namespace vigil
