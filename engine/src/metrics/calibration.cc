#include "vigil/calibration.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include <spdlog/spdlog.h>

#include "vigil/error.h"
#include "vigil/metrics.h"

namespace vigil {
namespace {

constexpr const char* kF1Max = "f1_max";
constexpr const char* kNormalOnly = "normal_only";

// A zero range (all validation scores equal) makes the min-max formula
// divide by zero; its limit as the range shrinks is a step at the threshold,
// which keeps "0.5 and above is anomalous" true.
float normalize(float raw, float threshold, float min, float max) {
  const float range = max - min;
  if (!(range > 0.0f)) {
    return raw > threshold ? 1.0f : raw < threshold ? 0.0f : 0.5f;
  }
  return std::clamp((raw - threshold) / range + 0.5f, 0.0f, 1.0f);
}

// Population statistics: the normal scores are all there is.
float mean_plus_3_std(const std::vector<float>& scores) {
  const double n = static_cast<double>(scores.size());
  const double mean = std::accumulate(scores.begin(), scores.end(), 0.0) / n;
  double squares = 0.0;
  for (float s : scores) squares += (s - mean) * (s - mean);
  return static_cast<float>(mean + 3.0 * std::sqrt(squares / n));
}

void check_no_nan(const std::vector<float>& scores, const char* what) {
  if (std::any_of(scores.begin(), scores.end(),
                  [](float s) { return std::isnan(s); })) {
    throw Error(what, "NaN score");
  }
}

bool has_defect(const PixelSamples& pixels) {
  return std::any_of(pixels.labels.begin(), pixels.labels.end(),
                     [](std::uint8_t label) { return label != 0; });
}

void set_ranges(const std::vector<float>& image_scores,
                const PixelSamples& pixels, Calibration* c) {
  const auto [image_min, image_max] =
      std::minmax_element(image_scores.begin(), image_scores.end());
  c->image_min = *image_min;
  c->image_max = *image_max;
  c->pixel_min = c->image_min;
  c->pixel_max = c->image_max;
  if (!pixels.scores.empty()) {
    const auto [pixel_min, pixel_max] =
        std::minmax_element(pixels.scores.begin(), pixels.scores.end());
    c->pixel_min = *pixel_min;
    c->pixel_max = *pixel_max;
  }
}

void set_f1_thresholds(const std::vector<float>& image_scores,
                       const std::vector<std::uint8_t>& labels,
                       const PixelSamples& pixels, Calibration* c) {
  c->method = kF1Max;
  c->image_threshold = f1_max(image_scores, labels).threshold;
  c->pixel_threshold = has_defect(pixels)
                           ? f1_max(pixels.scores, pixels.labels).threshold
                           : c->image_threshold;
}

void set_normal_thresholds(const std::vector<float>& image_scores,
                           const PixelSamples& pixels, Calibration* c) {
  c->method = kNormalOnly;
  c->image_threshold = mean_plus_3_std(image_scores);
  c->pixel_threshold = pixels.scores.empty() ? c->image_threshold
                                             : mean_plus_3_std(pixels.scores);
  spdlog::warn(
      "calibration: validation holds no defective image; thresholds set "
      "from {} normal images only (mean + 3 std), so the anomalous side is "
      "a guess: add defective images to validation for an F1-based "
      "threshold",
      image_scores.size());
}

float number_at(const nlohmann::json& j, const char* field) {
  const std::string what = std::string("calibration.") + field;
  if (!j.contains(field)) throw Error(what, "missing");
  if (!j.at(field).is_number()) throw Error(what, "not a number");
  return j.at(field).get<float>();
}

}  // namespace

float Calibration::normalize_image(float raw) const {
  return normalize(raw, image_threshold, image_min, image_max);
}

float Calibration::normalize_pixel(float raw) const {
  return normalize(raw, pixel_threshold, pixel_min, pixel_max);
}

Calibration calibrate(const std::vector<float>& image_scores,
                      const std::vector<std::uint8_t>& labels,
                      const PixelSamples& pixels) {
  if (image_scores.empty()) throw Error("image_scores", "empty");
  if (labels.size() != image_scores.size()) {
    throw Error("labels", std::to_string(labels.size()) + " labels for " +
                              std::to_string(image_scores.size()) +
                              " image scores");
  }
  if (!pixels.labels.empty() && pixels.labels.size() != pixels.scores.size()) {
    throw Error("pixel labels",
                std::to_string(pixels.labels.size()) + " labels for " +
                    std::to_string(pixels.scores.size()) + " pixel scores");
  }

  check_no_nan(image_scores, "image_scores");
  check_no_nan(pixels.scores, "pixel scores");

  Calibration c;
  set_ranges(image_scores, pixels, &c);
  const bool any_anomalous = std::any_of(labels.begin(), labels.end(),
                                         [](std::uint8_t l) { return l != 0; });
  if (any_anomalous) {
    set_f1_thresholds(image_scores, labels, pixels, &c);
  } else {
    set_normal_thresholds(image_scores, pixels, &c);
  }
  return c;
}

nlohmann::json to_json(const Calibration& c) {
  return {{"method", c.method},
          {"image_threshold", c.image_threshold},
          {"image_min", c.image_min},
          {"image_max", c.image_max},
          {"pixel_threshold", c.pixel_threshold},
          {"pixel_min", c.pixel_min},
          {"pixel_max", c.pixel_max}};
}

Calibration calibration_from_json(const nlohmann::json& j) {
  if (!j.is_object()) throw Error("calibration", "not a JSON object");
  Calibration c;
  if (!j.contains("method") || !j.at("method").is_string()) {
    throw Error("calibration.method", "missing or not a string");
  }
  c.method = j.at("method").get<std::string>();
  if (c.method != kF1Max && c.method != kNormalOnly) {
    throw Error("calibration.method", "unknown method '" + c.method + "'");
  }
  c.image_threshold = number_at(j, "image_threshold");
  c.image_min = number_at(j, "image_min");
  c.image_max = number_at(j, "image_max");
  c.pixel_threshold = number_at(j, "pixel_threshold");
  c.pixel_min = number_at(j, "pixel_min");
  c.pixel_max = number_at(j, "pixel_max");
  return c;
}

}  // namespace vigil
