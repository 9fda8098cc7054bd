#include "vigil/preprocess.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "vigil/error.h"

namespace vigil {
namespace {

// Larger sides are surely a typo, and would allocate gigabytes.
constexpr int kMaxSide = 16384;

std::string size_text(cv::Size size) {
  return std::to_string(size.width) + "x" + std::to_string(size.height);
}

void check_side(int value, const char* field) {
  if (value <= 0 || value > kMaxSide) {
    throw Error(std::string("preprocess.") + field,
                "must be between 1 and " + std::to_string(kMaxSide) + ", got " +
                    std::to_string(value));
  }
}

void check_crop(int crop, int resized, const char* field,
                const char* resize_field) {
  if (crop > resized) {
    throw Error(std::string("preprocess.") + field,
                "crop " + std::to_string(crop) + " is larger than " +
                    resize_field + " " + std::to_string(resized));
  }
}

void validate(const Preprocess& p) {
  check_side(p.resize_height, "resize_height");
  check_side(p.resize_width, "resize_width");
  check_side(p.height, "height");
  check_side(p.width, "width");
  check_crop(p.height, p.resize_height, "height", "resize_height");
  check_crop(p.width, p.resize_width, "width", "resize_width");
  if (!(std::isfinite(p.scale) && p.scale > 0.0f)) {
    throw Error("preprocess.scale", "must be positive and finite");
  }
  for (int c = 0; c < 3; ++c) {
    if (!(std::isfinite(p.std[c]) && p.std[c] > 0.0f)) {
      throw Error("preprocess.std", "must be positive and finite, got " +
                                        std::to_string(p.std[c]) +
                                        " for channel " + std::to_string(c));
    }
    if (!std::isfinite(p.mean[c])) {
      throw Error("preprocess.mean", "must be finite");
    }
  }
}

// torchvision's CenterCrop puts the crop at int(round(diff / 2.0)); Python
// rounds halves to the even neighbour, so an odd difference of 3 gives 2.
// Matching it keeps vigil's input identical to anomalib's.
int crop_offset(int resized, int crop) {
  int diff = resized - crop;
  int half = diff / 2;
  if (diff % 2 == 1 && half % 2 == 1) ++half;
  return half;
}

cv::Point crop_origin(const Preprocess& p) {
  return {crop_offset(p.resize_width, p.width),
          crop_offset(p.resize_height, p.height)};
}

// For one axis of the original image: which two map samples each original
// pixel interpolates, and whether its centre falls inside the crop.
struct Tap {
  int i0 = 0;
  int i1 = 0;
  float w1 = 0.0f;
  bool inside = false;
};

std::vector<Tap> axis_taps(int original, int resized, int offset, int crop) {
  std::vector<Tap> taps(original);
  double scale = double(resized) / original;
  for (int u = 0; u < original; ++u) {
    double centre = (u + 0.5) * scale;
    double m = std::clamp(centre - 0.5 - offset, 0.0, double(crop - 1));
    Tap& tap = taps[u];
    tap.inside = centre >= offset && centre < offset + crop;
    tap.i0 = int(std::floor(m));
    tap.i1 = std::min(tap.i0 + 1, crop - 1);
    tap.w1 = float(m - tap.i0);
  }
  return taps;
}

float sample(const cv::Mat& map, const Tap& ty, const Tap& tx) {
  const float* r0 = map.ptr<float>(ty.i0);
  const float* r1 = map.ptr<float>(ty.i1);
  float top = r0[tx.i0] + tx.w1 * (r0[tx.i1] - r0[tx.i0]);
  float bottom = r1[tx.i0] + tx.w1 * (r1[tx.i1] - r1[tx.i0]);
  return top + ty.w1 * (bottom - top);
}

const nlohmann::json& field(const nlohmann::json& j, const char* key) {
  if (!j.contains(key)) {
    throw Error(std::string("preprocess.") + key, "missing");
  }
  return j.at(key);
}

int int_field(const nlohmann::json& j, const char* key) {
  const nlohmann::json& v = field(j, key);
  if (!v.is_number_integer()) {
    throw Error(std::string("preprocess.") + key, "must be an integer");
  }
  auto value = v.get<std::int64_t>();
  if (value < std::numeric_limits<int>::min() ||
      value > std::numeric_limits<int>::max()) {
    throw Error(std::string("preprocess.") + key, "out of range");
  }
  return int(value);
}

float float_field(const nlohmann::json& v, const std::string& name) {
  if (!v.is_number()) throw Error(name, "must be a number");
  return v.get<float>();
}

std::array<float, 3> triple_field(const nlohmann::json& j, const char* key) {
  const nlohmann::json& v = field(j, key);
  std::string name = std::string("preprocess.") + key;
  if (!v.is_array() || v.size() != 3) {
    throw Error(name, "must be an array of 3 numbers");
  }
  return {float_field(v[0], name), float_field(v[1], name),
          float_field(v[2], name)};
}

}  // namespace

void preprocess(const cv::Mat& rgb, const Preprocess& p, float* out) {
  validate(p);
  if (rgb.empty() || rgb.type() != CV_8UC3) {
    throw Error("image", "expected an 8-bit, 3-channel RGB image");
  }
  VIGIL_ASSERT(out != nullptr);

  cv::Size resize_size(p.resize_width, p.resize_height);
  cv::Mat resized;
  if (rgb.size() == resize_size) {
    resized = rgb;
  } else {
    cv::resize(rgb, resized, resize_size, 0.0, 0.0, cv::INTER_LINEAR);
  }
  cv::Mat crop = resized(cv::Rect(crop_origin(p), cv::Size(p.width, p.height)));
  cv::Mat planes[3];
  cv::split(crop, planes);

  // (x * scale - mean) / std as one multiply-add per pixel, written
  // straight into the caller's buffer.
  std::size_t plane_size = std::size_t(p.height) * p.width;
  for (int c = 0; c < 3; ++c) {
    int source = p.bgr ? 2 - c : c;
    cv::Mat plane(p.height, p.width, CV_32FC1, out + c * plane_size);
    double alpha = double(p.scale) / p.std[source];
    double beta = -double(p.mean[source]) / p.std[source];
    planes[source].convertTo(plane, CV_32F, alpha, beta);
  }
}

cv::Rect2d network_view(cv::Size original, const Preprocess& p) {
  validate(p);
  double sx = double(original.width) / p.resize_width;
  double sy = double(original.height) / p.resize_height;
  cv::Point origin = crop_origin(p);
  return {origin.x * sx, origin.y * sy, p.width * sx, p.height * sy};
}

// Bilinear with pixel centres aligned, as cv::resize does, so with no crop
// the result equals cv::resize(anomaly_map, original, INTER_LINEAR). Done
// by hand because warpAffine and remap round coordinates to 1/32 pixel.
cv::Mat map_to_original(const cv::Mat& anomaly_map, cv::Size original,
                        const Preprocess& p) {
  validate(p);
  cv::Size map_size(p.width, p.height);
  if (anomaly_map.type() != CV_32FC1 || anomaly_map.size() != map_size) {
    throw Error("anomaly_map", "expected a " + size_text(map_size) +
                                   " float32 map, got " +
                                   size_text(anomaly_map.size()));
  }
  if (original.width <= 0 || original.height <= 0) {
    throw Error("anomaly_map", "empty original size");
  }

  double lowest = 0.0;
  cv::minMaxLoc(anomaly_map, &lowest);
  cv::Point origin = crop_origin(p);
  std::vector<Tap> xs =
      axis_taps(original.width, p.resize_width, origin.x, p.width);
  std::vector<Tap> ys =
      axis_taps(original.height, p.resize_height, origin.y, p.height);
  cv::Mat result(original, CV_32FC1, cv::Scalar(lowest));
  for (int v = 0; v < original.height; ++v) {
    if (!ys[v].inside) continue;
    float* row = result.ptr<float>(v);
    for (int u = 0; u < original.width; ++u) {
      if (xs[u].inside) row[u] = sample(anomaly_map, ys[v], xs[u]);
    }
  }
  return result;
}

nlohmann::json to_json(const Preprocess& p) {
  return {{"resize_height", p.resize_height},
          {"resize_width", p.resize_width},
          {"height", p.height},
          {"width", p.width},
          {"scale", p.scale},
          {"mean", p.mean},
          {"std", p.std},
          {"bgr", p.bgr}};
}

Preprocess preprocess_from_json(const nlohmann::json& j) {
  if (!j.is_object()) throw Error("preprocess", "must be a JSON object");
  Preprocess p;
  p.resize_height = int_field(j, "resize_height");
  p.resize_width = int_field(j, "resize_width");
  p.height = int_field(j, "height");
  p.width = int_field(j, "width");
  p.scale = float_field(field(j, "scale"), "preprocess.scale");
  p.mean = triple_field(j, "mean");
  p.std = triple_field(j, "std");
  const nlohmann::json& bgr = field(j, "bgr");
  if (!bgr.is_boolean()) throw Error("preprocess.bgr", "must be true/false");
  p.bgr = bgr.get<bool>();
  validate(p);
  return p;
}

}  // namespace vigil
