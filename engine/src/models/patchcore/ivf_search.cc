#include "models/patchcore/ivf_search.h"

#include <algorithm>
#include <limits>
#include <numeric>

#include <faiss/IndexFlat.h>

#include "vigil/error.h"

// BLAS's Fortran interface, as FAISS itself calls it (Debian links
// OpenBLAS behind it).
extern "C" int sgemm_(const char* transa, const char* transb, const int* m,
                      const int* n, const int* k, const float* alpha,
                      const float* a, const int* lda, const float* b,
                      const int* ldb, const float* beta, float* c,
                      const int* ldc);

namespace vigil {

std::vector<float> squared_norms(const float* x, std::int64_t n, int d) {
  std::vector<float> norms(n);
  for (std::int64_t i = 0; i < n; ++i) {
    const float* row = x + i * d;
    norms[i] = std::inner_product(row, row + d, row, 0.0f);
  }
  return norms;
}

void multiply_transposed(const float* a, std::int64_t m, const float* b,
                         std::int64_t n, int d, float* out) {
  if (m == 0 || n == 0) return;
  // Column-major BLAS sees row-major `out` as its transpose:
  // out^T (n x m) = b (n x d) . a^T, with b and a read as transposed.
  const int rows = static_cast<int>(n), cols = static_cast<int>(m);
  const float one = 1.0f, zero = 0.0f;
  sgemm_("T", "N", &rows, &cols, &d, &one, b, &d, a, &d, &zero, out, &rows);
}

IvfSearch::IvfSearch(const faiss::IndexIVFFlat& index)
    : index_(index), d_(static_cast<int>(index.d)) {
  const auto* centroids =
      dynamic_cast<const faiss::IndexFlat*>(index.quantizer);
  VIGIL_ASSERT(centroids != nullptr && index.metric_type == faiss::METRIC_L2);
  centroid_norms_ = squared_norms(centroids->get_xb(), index.nlist, d_);
  vector_norms_.resize(index.nlist);
  for (std::size_t list = 0; list < index.nlist; ++list) {
    faiss::InvertedLists::ScopedCodes codes(index.invlists, list);
    vector_norms_[list] =
        squared_norms(reinterpret_cast<const float*>(codes.get()),
                      index.invlists->list_size(list), d_);
  }
}

std::vector<std::int64_t> IvfSearch::probed_lists(std::int64_t n,
                                                  const float* queries,
                                                  int nprobe) const {
  const std::int64_t nlist = index_.nlist;
  const auto* quantizer =
      static_cast<const faiss::IndexFlat*>(index_.quantizer);
  std::vector<float> products(n * nlist);
  multiply_transposed(queries, n, quantizer->get_xb(), nlist, d_,
                      products.data());

  // |q - c|^2 ranks as |c|^2 - 2 q.c: |q|^2 is the same for every list.
  std::vector<std::int64_t> probed(n * nprobe), order(nlist);
  std::vector<float> distance(nlist);
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t c = 0; c < nlist; ++c) {
      distance[c] = centroid_norms_[c] - 2.0f * products[i * nlist + c];
    }
    std::iota(order.begin(), order.end(), 0);
    std::nth_element(order.begin(), order.begin() + (nprobe - 1), order.end(),
                     [&](std::int64_t a, std::int64_t b) {
                       return distance[a] < distance[b];
                     });
    std::copy_n(order.begin(), nprobe, probed.begin() + i * nprobe);
  }
  return probed;
}

void IvfSearch::nearest(std::int64_t n, const float* queries, int nprobe,
                        float* distances, std::int64_t* labels) const {
  nprobe = std::clamp<int>(nprobe, 1, int(index_.nlist));
  std::vector<std::int64_t> probed = probed_lists(n, queries, nprobe);

  // The queries of each list, to score them against it in one product.
  std::vector<std::vector<std::int64_t>> asking(index_.nlist);
  for (std::int64_t i = 0; i < n * nprobe; ++i) {
    asking[probed[i]].push_back(i / nprobe);
  }
  std::vector<float> query_norms = squared_norms(queries, n, d_);
  std::fill_n(distances, n, std::numeric_limits<float>::infinity());
  std::fill_n(labels, n, -1);

  std::vector<float> gathered, products;
  for (std::size_t list = 0; list < index_.nlist; ++list) {
    const std::int64_t size = index_.invlists->list_size(list);
    const std::int64_t m = asking[list].size();
    if (size == 0 || m == 0) continue;
    gathered.resize(m * d_);
    for (std::int64_t j = 0; j < m; ++j) {
      std::copy_n(queries + asking[list][j] * d_, d_,
                  gathered.begin() + j * d_);
    }
    faiss::InvertedLists::ScopedCodes codes(index_.invlists, list);
    faiss::InvertedLists::ScopedIds ids(index_.invlists, list);
    products.resize(m * size);
    multiply_transposed(gathered.data(), m,
                        reinterpret_cast<const float*>(codes.get()), size, d_,
                        products.data());

    const std::vector<float>& norms = vector_norms_[list];
    for (std::int64_t j = 0; j < m; ++j) {
      const float* row = products.data() + j * size;
      std::int64_t best = 0;
      float best_value = norms[0] - 2.0f * row[0];
      for (std::int64_t v = 1; v < size; ++v) {
        float value = norms[v] - 2.0f * row[v];
        if (value < best_value) best_value = value, best = v;
      }
      const std::int64_t q = asking[list][j];
      float distance = std::max(query_norms[q] + best_value, 0.0f);
      if (distance < distances[q]) {
        distances[q] = distance;
        labels[q] = ids.get()[best];
      }
    }
  }
}

}  // namespace vigil
