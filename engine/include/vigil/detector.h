// Scoring images with a trained model: decode, preprocess, score, normalise,
// map back to the image. What the CLI, the service and the benchmark call.
//
//   auto detector = vigil::Detector::open("tile.vigil");
//   vigil::Verdict v = detector->predict(rgb);
//   if (v.pred_label) ...        // v.pred_score >= 0.5
//
// predict() is safe to call from several threads at once.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "vigil/model.h"

namespace vigil {

// Time per stage for one call, in milliseconds.
struct Timings {
  double preprocess_ms = 0.0;
  double backbone_ms = 0.0;
  double scoring_ms = 0.0;
  double postprocess_ms = 0.0;
  double total_ms = 0.0;
};

struct Verdict {
  float pred_score = 0.0f;  // normalised to [0, 1]; >= 0.5 is anomalous
  bool pred_label = false;
  float raw_score = 0.0f;  // the model's own score, unnormalised
  // Normalised anomaly map at the original image size, CV_32FC1 in [0, 1].
  cv::Mat anomaly_map;
  // Pixels whose normalised score is >= 0.5: CV_8UC1, 255 = defect.
  cv::Mat pred_mask;
  Timings timings;
};

class Detector {
 public:
  // Throws vigil::Error (see load_model).
  static std::unique_ptr<Detector> open(const std::string& model_path,
                                        const LoadOptions& options = {});
  explicit Detector(LoadedModel loaded);

  // rgb: CV_8UC3, RGB, any size (see read_image).
  Verdict predict(const cv::Mat& rgb) const;
  // Scores a batch in one backbone call; timings are per batch.
  std::vector<Verdict> predict_batch(const std::vector<cv::Mat>& rgb) const;

  // Raw output, unnormalised, at the network input size (for validation).
  RawOutput score_raw(const std::vector<cv::Mat>& rgb,
                      Timings* timings = nullptr) const;

  const ModelInfo& info() const { return loaded_.info; }
  ModelInfo& mutable_info() { return loaded_.info; }
  const Model& model() const { return *loaded_.model; }

 private:
  LoadedModel loaded_;
};

}  // namespace vigil
