// Turning a decoded image into the tensor a network takes.
//
//   vigil::Preprocess p;                 // ImageNet defaults, 224 x 224
//   std::vector<float> x(p.tensor_size());
//   vigil::preprocess(rgb, p, x.data());
//
// The steps, in order: resize to resize_height x resize_width (bilinear),
// centre-crop to height x width, multiply by `scale`, subtract `mean` and
// divide by `std` per channel, lay out as 3 x height x width (planar) in
// `channel_order`. The settings are part of every saved model.
#pragma once

#include <array>
#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

namespace vigil {

struct Preprocess {
  int resize_height = 224;  // size after resizing, before the crop
  int resize_width = 224;
  int height = 224;  // network input size after the centre crop
  int width = 224;
  float scale = 1.0f / 255.0f;  // applied to 0..255 pixel values first
  std::array<float, 3> mean = {0.485f, 0.456f, 0.406f};  // RGB order
  std::array<float, 3> std = {0.229f, 0.224f, 0.225f};   // RGB order
  bool bgr = false;  // feed channels as B, G, R instead of R, G, B

  std::size_t tensor_size() const { return std::size_t(3) * height * width; }
};

// Writes `rgb` (CV_8UC3, RGB, any size) as a 3 x height x width float32
// planar tensor into `out`, which holds p.tensor_size() floats. The crop
// starts at round((resize - crop) / 2) with halves to even, as torchvision's
// CenterCrop. Throws vigil::Error for another image type or bad settings.
void preprocess(const cv::Mat& rgb, const Preprocess& p, float* out);

// The region of the original image that the network sees after resize and
// crop, in original pixel coordinates; used to map anomaly maps back.
cv::Rect2d network_view(cv::Size original, const Preprocess& p);

// Maps a height x width anomaly map (CV_32FC1) back to the original image
// size, inverting the resize and crop (bilinear, pixel centres aligned as in
// cv::resize). Pixels outside the cropped view get the map's minimum.
// Throws vigil::Error if the map's size or type does not match `p`.
cv::Mat map_to_original(const cv::Mat& anomaly_map, cv::Size original,
                        const Preprocess& p);

nlohmann::json to_json(const Preprocess& p);
// Throws vigil::Error naming the bad field.
Preprocess preprocess_from_json(const nlohmann::json& j);

}  // namespace vigil
