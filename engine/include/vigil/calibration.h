// Thresholds and normalisation: turning raw scores into [0, 1] with 0.5 as
// the line between normal and anomalous.
//
//   vigil::Calibration c = vigil::calibrate(image_scores, labels, pixels);
//   float s = c.normalize_image(raw);   // >= 0.5 means anomalous
//
// Normalisation is min-max around the threshold, as anomalib does:
//   normalized = clamp((raw - threshold) / (max - min) + 0.5, 0, 1)
// with min and max taken over the validation scores. When max == min the
// formula's limit is used: 0, 0.5 or 1 as raw is below, at or above the
// threshold.
//
// Calibration is a plain value: copy it freely; its const methods are safe
// from several threads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace vigil {

struct Calibration {
  // How the thresholds were set: "f1_max" (validation held defective
  // images) or "normal_only" (mean + 3 standard deviations of the normal
  // scores, when it held none).
  std::string method = "f1_max";
  float image_threshold = 0.0f;
  float image_min = 0.0f;
  float image_max = 1.0f;
  float pixel_threshold = 0.0f;
  float pixel_min = 0.0f;
  float pixel_max = 1.0f;

  float normalize_image(float raw) const;
  float normalize_pixel(float raw) const;
};

// Pixel scores and labels sampled from validation maps, flattened.
struct PixelSamples {
  std::vector<float> scores;
  std::vector<std::uint8_t> labels;  // 1 = defect pixel; empty: no masks
};

// Sets thresholds from validation scores (labels: 1 anomalous, 0 normal).
// With at least one anomalous image, the image threshold maximises F1; the
// pixel threshold maximises pixel F1 when pixel labels hold a defect pixel,
// else it equals the image threshold. With no anomalous image, both come
// from the normal scores (mean + 3 std) and a warning is logged.
// Min and max come from image_scores and pixels.scores (image_scores when
// there are no pixel scores).
// Throws vigil::Error when image_scores is empty, a score is NaN, or labels
// do not match their scores in number.
Calibration calibrate(const std::vector<float>& image_scores,
                      const std::vector<std::uint8_t>& labels,
                      const PixelSamples& pixels);

// Round-trips every field exactly. calibration_from_json throws
// vigil::Error naming a field that is missing or of the wrong type, or an
// unknown method.
nlohmann::json to_json(const Calibration& c);
Calibration calibration_from_json(const nlohmann::json& j);

}  // namespace vigil
