// ROC and precision-recall metrics: image AUROC, pixel AUROC, F1-max.

#include <cstdint>
#include <limits>
#include <vector>

#include "metrics/pixel_inputs.h"
#include "metrics/score_groups.h"
#include "vigil/error.h"
#include "vigil/metrics.h"

namespace vigil {
namespace {

metrics::ScoreGroups group_scores(const std::vector<float>& scores,
                                  const std::vector<std::uint8_t>& labels) {
  metrics::check_labels(scores.size(), labels);
  metrics::ScoreGroups groups;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    groups.count(scores[i], labels[i] != 0);
  }

  groups.start_placing();
  for (std::size_t i = 0; i < scores.size(); ++i) {
    groups.place(scores[i], labels[i]);
  }
  return groups;
}

// The trapezoid area under the ROC curve equals the Mann-Whitney statistic:
// the share of (positive, negative) pairs ordered correctly, a tie counting
// one half. Counting twice that in integers keeps it exact.
double area_under_roc(const metrics::ScoreGroups& groups) {
  const std::uint64_t n_positive = groups.positives();
  const std::uint64_t n_negative = groups.negatives();
  if (n_positive == 0 || n_negative == 0) {
    return std::numeric_limits<double>::quiet_NaN();
  }

  std::uint64_t twice_pairs = 0;
  std::uint64_t positives_above = 0;
  groups.for_each_descending({}, [&](const metrics::ScoreGroup& group) {
    twice_pairs += group.negatives * (2 * positives_above + group.positives);
    positives_above += group.positives;
    return true;
  });
  return static_cast<double>(twice_pairs) /
         (2.0 * static_cast<double>(n_positive) *
          static_cast<double>(n_negative));
}

}  // namespace

double auroc(const std::vector<float>& scores,
             const std::vector<std::uint8_t>& labels) {
  return area_under_roc(group_scores(scores, labels));
}

double pixel_auroc(const std::vector<cv::Mat>& maps,
                   const std::vector<cv::Mat>& masks) {
  metrics::check_maps(maps, masks);
  metrics::ScoreGroups groups;
  metrics::count_pixels(maps, masks, &groups);

  groups.start_placing();
  for (std::size_t i = 0; i < maps.size(); ++i) {
    for (int y = 0; y < maps[i].rows; ++y) {
      const float* score = maps[i].ptr<float>(y);
      const std::uint8_t* mask = masks[i].ptr<std::uint8_t>(y);
      for (int x = 0; x < maps[i].cols; ++x) {
        groups.place(score[x], mask[x] != 0 ? 1 : 0);
      }
    }
  }
  return area_under_roc(groups);
}

// Each distinct score is a candidate threshold (score >= threshold is
// anomalous), as in scikit-learn's precision_recall_curve. F1 is computed
// as 2 tp / (tp + fp + positives), which equals 2 p r / (p + r) and is 0
// rather than undefined when tp is 0. Equal F1s go to the lowest threshold,
// as argmax over scikit-learn's ascending thresholds does (and anomalib's
// F1AdaptiveThreshold with it).
F1Max f1_max(const std::vector<float>& scores,
             const std::vector<std::uint8_t>& labels) {
  const metrics::ScoreGroups groups = group_scores(scores, labels);
  const std::uint64_t n_positive = groups.positives();
  if (n_positive == 0) throw Error("labels", "no positive label for F1");

  F1Max best;
  best.f1 = -1.0;
  std::uint64_t tp = 0, fp = 0;
  groups.for_each_descending({}, [&](const metrics::ScoreGroup& group) {
    tp += group.positives;
    fp += group.negatives;
    const double f1 = 2.0 * static_cast<double>(tp) /
                      static_cast<double>(tp + fp + n_positive);
    if (f1 >= best.f1) {
      best.f1 = f1;
      best.threshold = group.score;
      best.precision = static_cast<double>(tp) / static_cast<double>(tp + fp);
      best.recall = static_cast<double>(tp) / static_cast<double>(n_positive);
    }
    // Past full recall only false positives are added: F1 only falls.
    return tp < n_positive;
  });
  return best;
}

}  // namespace vigil
