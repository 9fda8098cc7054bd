// The distinct scores of a sample set in descending order, with how many
// negatives and positives have each: the one walk that every threshold
// metric (ROC, precision-recall, per-region overlap) is a fold over. Each
// distinct score is one threshold step, so ties need no special care.
//
//   ScoreGroups groups;
//   for (...) groups.count(score, label != 0);
//   groups.start_placing();
//   for (...) groups.place(score, label);  // the same samples again
//   groups.for_each_descending({}, [&](const ScoreGroup& g) {
//     ...;
//     return true;  // false stops the walk
//   });
//
// Why not std::sort: the pixel metrics see up to ~100 million scores, and a
// comparison sort of 60 million floats took 8 s on the 2-core build machine
// (this takes 1.5 s there), besides a copy of (score, label) pairs. Instead the
// samples go through a two-digit counting sort on an order-preserving 32-bit
// key: they are bucketed by the key's top 16 bits, and inside a bucket counted
// by its low 16 bits (sorted instead when the bucket is small). That is two
// linear passes over the input and 2 bytes per negative plus 6 bytes per
// positive sample, and it stays exact: no binning, every distinct float is a
// group.
//
// Not thread-safe; one object per computation.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "vigil/error.h"

namespace vigil::metrics {

// All samples that share one score value.
struct ScoreGroup {
  float score = 0.0f;
  std::uint64_t negatives = 0;  // samples with label 0
  std::uint64_t positives = 0;  // samples with a nonzero label
  // The sum of weights[label] over the positives; 0 when no weights.
  double positive_weight = 0.0;
};

// Maps floats to unsigned integers in the same order, so that bucketing by
// high bits is sorting. -0 and +0 are one value, as they compare equal.
inline std::uint32_t order_key(float score) {
  if (score == 0.0f) score = 0.0f;
  const auto bits = std::bit_cast<std::uint32_t>(score);
  return (bits & 0x80000000u) != 0 ? ~bits : bits | 0x80000000u;
}

inline float score_from_key(std::uint32_t key) {
  const std::uint32_t bits =
      (key & 0x80000000u) != 0 ? key & 0x7fffffffu : ~key;
  return std::bit_cast<float>(bits);
}

class ScoreGroups {
 public:
  static constexpr int kBuckets = 1 << 16;

  ScoreGroups();

  // Pass 1, once per sample. Throws vigil::Error on a NaN score, which has
  // no place in an ordering.
  void count(float score, bool positive) {
    VIGIL_ASSERT(!placing_);
    if (std::isnan(score)) throw Error("scores", "NaN score");
    const std::uint32_t bucket = order_key(score) >> 16;
    ++(positive ? positive_starts_ : negative_starts_)[bucket + 1];
  }

  // Between the passes: turns the counts into bucket offsets.
  void start_placing();

  // Pass 2, once per sample counted, in any order. label 0 is negative;
  // a positive's label indexes the weights of for_each_descending.
  void place(float score, std::uint32_t label) {
    const std::uint32_t key = order_key(score);
    const std::uint32_t bucket = key >> 16;
    const auto low = static_cast<std::uint16_t>(key & 0xffffu);
    if (label == 0) {
      const std::uint64_t i = negative_cursor_[bucket]++;
      VIGIL_ASSERT(i < negative_starts_[bucket + 1]);
      negative_low_[i] = low;
    } else {
      const std::uint64_t i = positive_cursor_[bucket]++;
      VIGIL_ASSERT(i < positive_starts_[bucket + 1]);
      positive_low_[i] = low;
      positive_label_[i] = label;
    }
  }

  // Totals, known from start_placing on.
  std::uint64_t negatives() const {
    VIGIL_ASSERT(placing_);
    return negative_starts_.back();
  }
  std::uint64_t positives() const {
    VIGIL_ASSERT(placing_);
    return positive_starts_.back();
  }

  // After pass 2: calls on_group(const ScoreGroup&) for every distinct
  // score from the highest to the lowest, until it returns false.
  // weights: indexed by the positives' labels; may be empty.
  template <typename OnGroup>
  void for_each_descending(std::span<const double> weights,
                           OnGroup&& on_group) const {
    std::vector<ScoreGroup> groups;
    Histogram histogram;
    for (int bucket = kBuckets - 1; bucket >= 0; --bucket) {
      collect_bucket(bucket, weights, &histogram, &groups);
      for (const ScoreGroup& group : groups) {
        if (!on_group(group)) return;
      }
    }
  }

 private:
  // Counts per low 16 bits, for buckets too big to sort; all zero between
  // uses.
  struct Histogram {
    std::vector<std::uint64_t> negatives;
    std::vector<std::uint64_t> positives;
    std::vector<double> weights;
  };

  // Replaces *groups with the bucket's groups, highest score first.
  void collect_bucket(int bucket, std::span<const double> weights,
                      Histogram* histogram,
                      std::vector<ScoreGroup>* groups) const;
  void sort_bucket(int bucket, std::span<const double> weights,
                   std::vector<ScoreGroup>* groups) const;
  void count_bucket(int bucket, std::span<const double> weights,
                    Histogram* histogram,
                    std::vector<ScoreGroup>* groups) const;

  // Per bucket b, [starts[b], starts[b + 1]) in the arrays below; during
  // pass 1 starts[b + 1] holds bucket b's count.
  std::vector<std::uint64_t> negative_starts_;
  std::vector<std::uint64_t> positive_starts_;
  std::vector<std::uint64_t> negative_cursor_;
  std::vector<std::uint64_t> positive_cursor_;
  std::vector<std::uint16_t> negative_low_;
  std::vector<std::uint16_t> positive_low_;
  std::vector<std::uint32_t> positive_label_;
  bool placing_ = false;
};

}  // namespace vigil::metrics
