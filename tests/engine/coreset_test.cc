// Greedy coreset selection against a plain k-center greedy reference.
#include <limits>
#include <random>

#include <gtest/gtest.h>

#include "models/patchcore/coreset.h"

namespace vigil {
namespace {

// The textbook algorithm, double precision, no projection: repeatedly take
// the point farthest from everything chosen so far.
std::vector<std::int64_t> reference_greedy(const std::vector<float>& x, int n,
                                           int d, int k, std::int64_t first) {
  std::vector<std::int64_t> chosen = {first};
  while (static_cast<int>(chosen.size()) < k) {
    double best = -1.0;
    std::int64_t best_index = -1;
    for (int i = 0; i < n; ++i) {
      double nearest = std::numeric_limits<double>::max();
      for (std::int64_t c : chosen) {
        double sum = 0.0;
        for (int j = 0; j < d; ++j) {
          double diff = x[i * d + j] - x[c * d + j];
          sum += diff * diff;
        }
        nearest = std::min(nearest, sum);
      }
      if (nearest > best) best = nearest, best_index = i;
    }
    chosen.push_back(best_index);
  }
  return chosen;
}

TEST(Coreset, MatchesPlainKCenterGreedyWithoutProjection) {
  const int n = 300, d = 5, k = 40;
  std::mt19937 random(7);
  std::normal_distribution<float> normal;
  std::vector<float> x(n * d);
  for (float& v : x) v = normal(random);

  // A projection dimension >= d means no projection.
  std::vector<std::int64_t> chosen = greedy_coreset(x.data(), n, d, k, d, 3);
  ASSERT_EQ(chosen.size(), std::size_t(k));
  EXPECT_EQ(chosen, reference_greedy(x, n, d, k, chosen[0]));
}

TEST(Coreset, SameSeedSameChoice) {
  const int n = 500, d = 64;
  std::vector<float> x(n * d);
  std::mt19937 random(1);
  std::uniform_real_distribution<float> uniform;
  for (float& v : x) v = uniform(random);
  EXPECT_EQ(greedy_coreset(x.data(), n, d, 50, 16, 9),
            greedy_coreset(x.data(), n, d, 50, 16, 9));
}

TEST(Coreset, JohnsonLindenstraussDimMatchesScikitLearn) {
  // sklearn.random_projection.johnson_lindenstrauss_min_dim(1e6, eps=0.9)
  // = 4 * ln(1e6) / (0.9^2 / 2 - 0.9^3 / 3) = 341 (truncated).
  EXPECT_EQ(johnson_lindenstrauss_dim(1000000, 0.9), 341);
}

}  // namespace
}  // namespace vigil
