// Greedy coreset selection (k-center greedy) for PatchCore's memory bank.
#pragma once

#include <cstdint>
#include <vector>

namespace vigil {

// Chooses `k` rows of `points` (n x d, row-major, float32) by k-center
// greedy: start at a random row, then repeatedly take the row farthest from
// all chosen so far. Distances are measured after a sparse random
// projection to `projection_dim` dimensions (0: the Johnson-Lindenstrauss
// bound for eps 0.9, as anomalib; no projection when that is >= d).
// Returns the chosen row indices in selection order. Deterministic for a
// given seed.
std::vector<std::int64_t> greedy_coreset(const float* points, std::int64_t n,
                                         int d, std::int64_t k,
                                         int projection_dim,
                                         std::uint64_t seed);

// The Johnson-Lindenstrauss minimum dimension for n points and eps, as
// scikit-learn's johnson_lindenstrauss_min_dim.
int johnson_lindenstrauss_dim(std::int64_t n, double eps);

}  // namespace vigil
