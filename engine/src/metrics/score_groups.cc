#include "metrics/score_groups.h"

#include <algorithm>
#include <functional>

namespace vigil::metrics {
namespace {

// Below this many samples a bucket is sorted; above, counted in 65536
// bins. Sorting n 16-bit values costs about n log n, the bins a fixed
// 65536 steps, and the two meet near here.
constexpr std::uint64_t kSortLimit = 4096;

double weight_of(std::span<const double> weights, std::uint32_t label) {
  if (weights.empty()) return 0.0;
  VIGIL_ASSERT(label < weights.size());
  return weights[label];
}

}  // namespace

ScoreGroups::ScoreGroups()
    : negative_starts_(kBuckets + 1, 0), positive_starts_(kBuckets + 1, 0) {}

void ScoreGroups::start_placing() {
  VIGIL_ASSERT(!placing_);
  placing_ = true;
  for (int b = 0; b < kBuckets; ++b) {
    negative_starts_[b + 1] += negative_starts_[b];
    positive_starts_[b + 1] += positive_starts_[b];
  }

  negative_cursor_.assign(negative_starts_.begin(), negative_starts_.end() - 1);
  positive_cursor_.assign(positive_starts_.begin(), positive_starts_.end() - 1);
  negative_low_.resize(negatives());
  positive_low_.resize(positives());
  positive_label_.resize(positives());
}

void ScoreGroups::collect_bucket(int bucket, std::span<const double> weights,
                                 Histogram* histogram,
                                 std::vector<ScoreGroup>* groups) const {
  groups->clear();
  const std::uint64_t size =
      negative_starts_[bucket + 1] - negative_starts_[bucket] +
      positive_starts_[bucket + 1] - positive_starts_[bucket];
  if (size == 0) return;

  VIGIL_ASSERT(negative_cursor_[bucket] == negative_starts_[bucket + 1]);
  VIGIL_ASSERT(positive_cursor_[bucket] == positive_starts_[bucket + 1]);
  if (size < kSortLimit) {
    sort_bucket(bucket, weights, groups);
  } else {
    count_bucket(bucket, weights, histogram, groups);
  }
}

void ScoreGroups::sort_bucket(int bucket, std::span<const double> weights,
                              std::vector<ScoreGroup>* groups) const {
  std::vector<std::uint16_t> negatives(
      negative_low_.begin() + negative_starts_[bucket],
      negative_low_.begin() + negative_starts_[bucket + 1]);
  std::sort(negatives.begin(), negatives.end(), std::greater<>());

  // Low bits above the label, so that sorting orders by score.
  std::vector<std::uint64_t> positives;
  for (std::uint64_t i = positive_starts_[bucket];
       i < positive_starts_[bucket + 1]; ++i) {
    positives.push_back(std::uint64_t{positive_low_[i]} << 32 |
                        positive_label_[i]);
  }
  std::sort(positives.begin(), positives.end(), std::greater<>());

  const std::uint32_t high = static_cast<std::uint32_t>(bucket) << 16;
  std::size_t n = 0, p = 0;
  while (n < negatives.size() || p < positives.size()) {
    std::uint32_t low = 0;
    if (n < negatives.size()) low = negatives[n];
    if (p < positives.size()) {
      low = std::max(low, static_cast<std::uint32_t>(positives[p] >> 32));
    }

    ScoreGroup group;
    group.score = score_from_key(high | low);
    for (; n < negatives.size() && negatives[n] == low; ++n) {
      ++group.negatives;
    }
    for (; p < positives.size() && (positives[p] >> 32) == low; ++p) {
      ++group.positives;
      group.positive_weight += weight_of(
          weights, static_cast<std::uint32_t>(positives[p] & 0xffffffffu));
    }
    groups->push_back(group);
  }
}

void ScoreGroups::count_bucket(int bucket, std::span<const double> weights,
                               Histogram* histogram,
                               std::vector<ScoreGroup>* groups) const {
  if (histogram->negatives.empty()) {
    histogram->negatives.assign(1 << 16, 0);
    histogram->positives.assign(1 << 16, 0);
    histogram->weights.assign(1 << 16, 0.0);
  }
  for (std::uint64_t i = negative_starts_[bucket];
       i < negative_starts_[bucket + 1]; ++i) {
    ++histogram->negatives[negative_low_[i]];
  }
  for (std::uint64_t i = positive_starts_[bucket];
       i < positive_starts_[bucket + 1]; ++i) {
    ++histogram->positives[positive_low_[i]];
    histogram->weights[positive_low_[i]] +=
        weight_of(weights, positive_label_[i]);
  }

  // Reading the bins also empties them for the next bucket.
  const std::uint32_t high = static_cast<std::uint32_t>(bucket) << 16;
  for (int low = (1 << 16) - 1; low >= 0; --low) {
    if (histogram->negatives[low] == 0 && histogram->positives[low] == 0) {
      continue;
    }
    groups->push_back({score_from_key(high | static_cast<std::uint32_t>(low)),
                       histogram->negatives[low], histogram->positives[low],
                       histogram->weights[low]});
    histogram->negatives[low] = 0;
    histogram->positives[low] = 0;
    histogram->weights[low] = 0.0;
  }
}

}  // namespace vigil::metrics
