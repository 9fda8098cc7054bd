// Validation of a trained model on a labelled split: raw scores, thresholds
// and the metrics (image AUROC, pixel AUROC, AUPRO, F1-max).
//
//   vigil::ScoredSet s = vigil::score_samples(detector, ds.test);
//   vigil::Calibration c = vigil::calibrate_on(s);
//   vigil::Metrics m = vigil::compute_metrics(s, c);
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "vigil/calibration.h"
#include "vigil/dataset.h"
#include "vigil/detector.h"

namespace vigil {

struct ScoredSample {
  Sample sample;
  float raw_score = 0.0f;
  cv::Mat raw_map;  // at the original image size, CV_32FC1, unnormalised
  cv::Mat mask;     // CV_8UC1 0/1 at the original size; empty: no mask
};

struct ScoredSet {
  std::vector<ScoredSample> samples;
  double mean_latency_ms = 0.0;
};

// Scores every sample (progress in the log). Defective samples without a
// mask are kept for the image metrics. Throws vigil::Error naming a file
// that cannot be read, or a mask whose size differs from its image.
ScoredSet score_samples(const Detector& detector,
                        const std::vector<Sample>& samples);

Calibration calibrate_on(const ScoredSet& scored);

struct Metrics {
  double image_auroc = 0.0;
  double pixel_auroc = 0.0;  // NaN when no sample has a mask
  double aupro = 0.0;        // NaN when no sample has a mask
  double image_f1_max = 0.0;
  float image_threshold = 0.0f;        // raw score at F1-max on this set
  double image_f1_at_threshold = 0.0;  // F1 with the model's own threshold
  int n_images = 0;
  int n_anomalous = 0;
  int n_masks = 0;
  double mean_latency_ms = 0.0;
};

Metrics compute_metrics(const ScoredSet& scored,
                        const Calibration& calibration);

nlohmann::json to_json(const Metrics& m);

}  // namespace vigil
