// Nearest-neighbour search over the inverted lists of a FAISS IndexIVFFlat,
// each probed list scored against all its queries by one matrix product.
//
// Why not IndexIVFFlat::search: Debian's FAISS 1.7 is built for baseline
// x86-64, so its own distance loops are scalar (112 ns per 128-d distance
// on the 2-core machine), and at nprobe 16 its IVF search of one image's
// 784 patches over a 5,574 x 128 bank took 91 ms, slower than exact search,
// whose one BLAS product runs at the core's peak. Grouping the queries by
// list hands the same arithmetic to BLAS. FAISS still trains, assigns,
// stores and serialises the index; only the scan is ours, and the tests
// hold it to IndexIVFFlat::search.
//
//   IvfSearch search(index);  // index must outlive search
//   search.nearest(n, queries, nprobe, distances, labels);
//
// Thread safety: nearest() is const and safe to call concurrently. BLAS
// runs on the calling thread's OpenMP thread count.
#pragma once

#include <cstdint>
#include <vector>

#include <faiss/IndexIVFFlat.h>

namespace vigil {

class IvfSearch {
 public:
  // `index`: trained, with its vectors added; borrowed, not owned.
  explicit IvfSearch(const faiss::IndexIVFFlat& index);

  // For each of the n queries (n x d, row-major, float32), the nearest
  // vector among those in its `nprobe` nearest lists (the lists
  // IndexIVFFlat::search scans): its squared L2 distance into
  // `distances` (n) and its id into `labels` (n), -1 where the probed
  // lists are empty. nprobe is capped at the number of lists.
  void nearest(std::int64_t n, const float* queries, int nprobe,
               float* distances, std::int64_t* labels) const;

 private:
  // n x nprobe list numbers per query, row-major.
  std::vector<std::int64_t> probed_lists(std::int64_t n, const float* queries,
                                         int nprobe) const;

  const faiss::IndexIVFFlat& index_;
  int d_;
  std::vector<float> centroid_norms_;  // nlist: |c|^2
  // Per list, |v|^2 of its vectors in list order.
  std::vector<std::vector<float>> vector_norms_;
};

// Squared norms of the n rows of `x` (n x d, row-major, float32).
std::vector<float> squared_norms(const float* x, std::int64_t n, int d);

// Row-major out (m x n) = a (m x d) . b (n x d)^T, all float32, by BLAS.
void multiply_transposed(const float* a, std::int64_t m, const float* b,
                         std::int64_t n, int d, float* out);

}  // namespace vigil
