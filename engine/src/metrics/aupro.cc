// Area under the per-region overlap curve, as defined by Bergmann et al.
// (MVTec AD, IJCV 2021) and computed by the official MVTec evaluation
// script: one threshold sweep over all pixels of all images, where at each
// threshold
//   FPR = false positive pixels / all normal pixels (all images),
//   PRO = mean over all regions (all images) of the share of the region's
//         pixels at or above the threshold,
// and the curve from (0, 0) is integrated with the trapezoid rule up to
// fpr_limit, the point at fpr_limit interpolated linearly.
//
// anomalib's AUPRO (src/anomalib/metrics/aupro.py) gives a slightly
// different number: it builds one ROC curve per region (that region against
// all normal pixels), cuts each at fpr_limit, resamples every curve onto a
// common grid of point indices (not of thresholds or FPR), and averages the
// FPRs and the overlaps index by index. The averaged points mix different
// thresholds, so its curve is not the PRO curve of a single sweep; expect
// differences in the second or third decimal. vigil follows the paper.

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "metrics/pixel_inputs.h"
#include "metrics/score_groups.h"
#include "vigil/error.h"
#include "vigil/metrics.h"

namespace vigil {
namespace {

// Pass 2 of ScoreGroups with every defect pixel labelled by its region,
// numbered from 1 across all images. Returns the weight of each region
// label, 1 / region size, so that the weights above a threshold sum to the
// overlaps; entry 0 (normal pixels) is unused.
std::vector<double> place_regions(const std::vector<cv::Mat>& maps,
                                  const std::vector<cv::Mat>& masks,
                                  metrics::ScoreGroups* groups) {
  std::vector<double> weights{0.0};
  cv::Mat regions, stats, centroids;
  for (std::size_t i = 0; i < maps.size(); ++i) {
    if (masks[i].empty()) continue;
    const int n_labels = cv::connectedComponentsWithStats(
        masks[i], regions, stats, centroids, 8, CV_32S);
    const auto first = static_cast<std::uint32_t>(weights.size() - 1);
    for (int r = 1; r < n_labels; ++r) {
      weights.push_back(1.0 / stats.at<int>(r, cv::CC_STAT_AREA));
    }

    for (int y = 0; y < maps[i].rows; ++y) {
      const float* score = maps[i].ptr<float>(y);
      const std::int32_t* region = regions.ptr<std::int32_t>(y);
      for (int x = 0; x < maps[i].cols; ++x) {
        const auto r = static_cast<std::uint32_t>(region[x]);
        groups->place(score[x], r == 0 ? 0 : first + r);
      }
    }
  }
  return weights;
}

double area_under_pro(const metrics::ScoreGroups& groups,
                      const std::vector<double>& weights, double fpr_limit) {
  const auto n_normal = static_cast<double>(groups.negatives());
  const auto n_regions = static_cast<double>(weights.size() - 1);
  std::uint64_t false_positives = 0;
  double overlap_sum = 0.0;
  double last_fpr = 0.0, last_pro = 0.0, area = 0.0;
  groups.for_each_descending(weights, [&](const metrics::ScoreGroup& group) {
    false_positives += group.negatives;
    overlap_sum += group.positive_weight;
    const double fpr = static_cast<double>(false_positives) / n_normal;
    double pro = overlap_sum / n_regions;
    const bool past_limit = fpr > fpr_limit;
    if (past_limit) {
      pro = last_pro +
            (pro - last_pro) * (fpr_limit - last_fpr) / (fpr - last_fpr);
    }

    const double right = past_limit ? fpr_limit : fpr;
    area += 0.5 * (last_pro + pro) * (right - last_fpr);
    last_fpr = fpr;
    last_pro = pro;
    return !past_limit;
  });
  return area / fpr_limit;
}

}  // namespace

double aupro(const std::vector<cv::Mat>& maps,
             const std::vector<cv::Mat>& masks, double fpr_limit) {
  metrics::check_maps(maps, masks);
  if (!(fpr_limit > 0.0 && fpr_limit <= 1.0)) {
    throw Error("fpr_limit",
                "must be in (0, 1], got " + std::to_string(fpr_limit));
  }
  metrics::ScoreGroups groups;
  metrics::count_pixels(maps, masks, &groups);
  groups.start_placing();
  if (groups.positives() == 0 || groups.negatives() == 0) {
    return std::numeric_limits<double>::quiet_NaN();
  }

  const std::vector<double> weights = place_regions(maps, masks, &groups);
  return area_under_pro(groups, weights, fpr_limit);
}

}  // namespace vigil
