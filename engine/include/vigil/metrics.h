// Validation metrics, computed exactly (no binning) from raw scores.
//
//   double a = vigil::auroc(scores, labels);             // image AUROC
//   vigil::F1Max f = vigil::f1_max(scores, labels);      // best F1, threshold
//   double p = vigil::aupro(maps, masks);                // FPR limit 0.3
//
// Labels are 1 for anomalous (positive), 0 for normal. Ties in scores are
// treated as one threshold step, as scikit-learn does. Functions keep no
// state and are thread-safe.
//
// Cost: two linear passes over the scores (no comparison sort), plus about
// 2 bytes per negative and 6 bytes per positive sample of scratch memory;
// 60 million pixels take one to two seconds on a small CPU.
//
// Errors: vigil::Error when the inputs do not pair up (sizes, types), when
// a label is not 0 or 1, or when a score is NaN.
#pragma once

#include <cstdint>
#include <vector>

#include <opencv2/core.hpp>

namespace vigil {

// Area under the ROC curve. Returns NaN when labels hold only one class.
// scores: n float32; labels: n bytes, 0 or 1.
double auroc(const std::vector<float>& scores,
             const std::vector<std::uint8_t>& labels);

struct F1Max {
  double f1 = 0.0;        // the highest F1 over all thresholds
  float threshold = 0.0;  // predict anomalous when score >= threshold
  double precision = 0.0;
  double recall = 0.0;
};

// The threshold that maximises F1 among the observed scores (as
// scikit-learn's precision_recall_curve and anomalib's F1 adaptive
// threshold). Throws vigil::Error when there is no positive label.
F1Max f1_max(const std::vector<float>& scores,
             const std::vector<std::uint8_t>& labels);

// Area under the per-region overlap curve up to `fpr_limit`, divided by
// `fpr_limit` so that a perfect map scores 1 (Bergmann et al., MVTec AD,
// IJCV 2021). Regions are the 8-connected components of each mask. The
// false positive rate is over all normal pixels of all images; the curve is
// interpolated linearly at `fpr_limit`.
// maps: per image CV_32FC1; masks: per image CV_8UC1 (nonzero = defect),
// the same size as its map. Returns NaN when no mask has a defect pixel or
// no pixel is normal. fpr_limit must be in (0, 1]. Differs from anomalib's
// AUPRO, which averages per-region curves (see src/metrics/aupro.cc).
double aupro(const std::vector<cv::Mat>& maps,
             const std::vector<cv::Mat>& masks, double fpr_limit = 0.3);

// Pixel AUROC over all pixels of all images (maps and masks as in aupro).
// Returns NaN when the masks hold only one class.
double pixel_auroc(const std::vector<cv::Mat>& maps,
                   const std::vector<cv::Mat>& masks);

}  // namespace vigil
