#include "models/patchcore/coreset.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <random>

#include <spdlog/spdlog.h>
#include <Eigen/Dense>

#include "vigil/error.h"

namespace vigil {
namespace {

using RowMatrix =
    Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Achlioptas / Li et al. sparse projection with density 1 / sqrt(d), as
// scikit-learn's SparseRandomProjection: entries are 0 or
// +-sqrt(1 / density) / sqrt(k).
RowMatrix sparse_projection(int d, int k, std::uint64_t seed) {
  std::mt19937_64 random(seed);
  double density = 1.0 / std::sqrt(static_cast<double>(d));
  float value = static_cast<float>(std::sqrt(1.0 / density) / std::sqrt(k));
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  RowMatrix projection = RowMatrix::Zero(d, k);
  for (int i = 0; i < d; ++i) {
    for (int j = 0; j < k; ++j) {
      double u = uniform(random);
      if (u < density / 2)
        projection(i, j) = -value;
      else if (u < density)
        projection(i, j) = value;
    }
  }
  return projection;
}

struct Farthest {
  float distance = -1.0f;
  std::int64_t index = -1;
};

// Lowers each point's distance to the chosen set with the newly chosen
// center, and returns the point now farthest from the set.
Farthest update_min_distances(const RowMatrix& x, const float* center,
                              std::vector<float>& min_distances) {
  const std::int64_t n = x.rows();
  const int d = static_cast<int>(x.cols());
  Farthest best;
#pragma omp parallel
  {
    Farthest local;
#pragma omp for schedule(static)
    for (std::int64_t i = 0; i < n; ++i) {
      const float* row = x.data() + i * d;
      float sum = 0.0f;
      for (int j = 0; j < d; ++j) {
        float diff = row[j] - center[j];
        sum += diff * diff;
      }
      float m = std::min(min_distances[i], sum);
      min_distances[i] = m;
      if (m > local.distance) local = {m, i};
    }
#pragma omp critical
    if (local.distance > best.distance ||
        (local.distance == best.distance && local.index < best.index)) {
      best = local;
    }
  }
  return best;
}

}  // namespace

int johnson_lindenstrauss_dim(std::int64_t n, double eps) {
  double denominator = eps * eps / 2.0 - eps * eps * eps / 3.0;
  return static_cast<int>(4.0 * std::log(static_cast<double>(n)) / denominator);
}

std::vector<std::int64_t> greedy_coreset(const float* points, std::int64_t n,
                                         int d, std::int64_t k,
                                         int projection_dim,
                                         std::uint64_t seed) {
  VIGIL_ASSERT(n > 0 && k > 0 && k <= n);
  auto start = std::chrono::steady_clock::now();
  int dim =
      projection_dim > 0 ? projection_dim : johnson_lindenstrauss_dim(n, 0.9);
  Eigen::Map<const RowMatrix> features(points, n, d);
  RowMatrix x = dim < d ? RowMatrix(features * sparse_projection(d, dim, seed))
                        : RowMatrix(features);

  std::vector<float> min_distances(n, std::numeric_limits<float>::max());
  std::vector<std::int64_t> chosen;
  chosen.reserve(k);
  std::mt19937_64 random(seed);
  std::int64_t next =
      std::uniform_int_distribution<std::int64_t>(0, n - 1)(random);
  for (std::int64_t step = 0; step < k; ++step) {
    chosen.push_back(next);
    std::vector<float> center(x.row(next).data(),
                              x.row(next).data() + x.cols());
    next = update_min_distances(x, center.data(), min_distances).index;
    if (step % 2000 == 1999) {
      spdlog::info("coreset: {} of {} patches chosen", step + 1, k);
    }
  }
  double s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  spdlog::info("coreset: {} of {} patches in {:.1f} s (dim {})", k, n, s,
               x.cols());
  return chosen;
}

}  // namespace vigil
