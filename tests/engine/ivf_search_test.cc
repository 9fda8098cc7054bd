// PatchCore's IVF scan by matrix products, held to FAISS's own
// IndexIVFFlat::search and IndexFlatL2 (the references), and its product
// to a plain loop.
#include <random>
#include <vector>

#include <faiss/IndexFlat.h>
#include <faiss/IndexIVFFlat.h>
#include <gtest/gtest.h>

#include "models/patchcore/ivf_search.h"

namespace vigil {
namespace {

// n points (n x d) around `centers` random centres, as patch features
// cluster; uneven list sizes follow.
std::vector<float> clustered(int n, int d, int centers, unsigned seed) {
  std::mt19937 random(seed);
  std::normal_distribution<float> normal;
  std::vector<float> centre(centers * d), x(n * d);
  for (float& v : centre) v = 4.0f * normal(random);
  for (int i = 0; i < n; ++i) {
    int c = random() % centers;
    for (int j = 0; j < d; ++j)
      x[i * d + j] = centre[c * d + j] + normal(random);
  }
  return x;
}

struct Fixture {
  static constexpr int kD = 48, kBank = 3000, kQueries = 400, kLists = 40;
  std::vector<float> bank = clustered(kBank, kD, 25, 1);
  std::vector<float> queries = clustered(kQueries, kD, 25, 2);
  faiss::IndexFlatL2 quantizer{kD};
  faiss::IndexIVFFlat index{&quantizer, kD, kLists};

  Fixture() {
    index.verbose = false;
    index.train(kBank, bank.data());
    index.add(kBank, bank.data());
  }
};

TEST(IvfSearch, FindsWhatIndexIvfFlatFindsAtEveryNprobe) {
  Fixture f;
  IvfSearch search(f.index);
  for (int nprobe : {1, 3, 8}) {
    std::vector<float> want_d(f.kQueries), got_d(f.kQueries);
    std::vector<faiss::Index::idx_t> want(f.kQueries);
    std::vector<std::int64_t> got(f.kQueries);
    f.index.nprobe = nprobe;
    f.index.search(f.kQueries, f.queries.data(), 1, want_d.data(), want.data());
    search.nearest(f.kQueries, f.queries.data(), nprobe, got_d.data(),
                   got.data());
    for (int i = 0; i < f.kQueries; ++i) {
      EXPECT_EQ(got[i], want[i]) << "query " << i << ", nprobe " << nprobe;
      EXPECT_NEAR(got_d[i], want_d[i], 1e-4f * (1.0f + want_d[i]));
    }
  }
}

TEST(IvfSearch, EveryListProbedIsExactSearch) {
  Fixture f;
  faiss::IndexFlatL2 exact(f.kD);
  exact.add(f.kBank, f.bank.data());
  std::vector<float> want_d(f.kQueries), got_d(f.kQueries);
  std::vector<faiss::Index::idx_t> want(f.kQueries);
  std::vector<std::int64_t> got(f.kQueries);
  exact.search(f.kQueries, f.queries.data(), 1, want_d.data(), want.data());
  // More than nlist is capped at nlist.
  IvfSearch(f.index).nearest(f.kQueries, f.queries.data(), 1000, got_d.data(),
                             got.data());
  for (int i = 0; i < f.kQueries; ++i) {
    EXPECT_EQ(got[i], want[i]) << "query " << i;
    EXPECT_NEAR(got_d[i], want_d[i], 1e-4f * (1.0f + want_d[i]));
  }
}

TEST(IvfSearch, ProductMatchesPlainLoopOnAwkwardShapes) {
  const int m = 3, n = 5, d = 7;
  std::vector<float> a(m * d), b(n * d), out(m * n);
  for (int i = 0; i < m * d; ++i) a[i] = 0.25f * i - 2.0f;
  for (int i = 0; i < n * d; ++i) b[i] = 1.0f - 0.125f * i;
  multiply_transposed(a.data(), m, b.data(), n, d, out.data());
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      double want = 0.0;
      for (int k = 0; k < d; ++k) want += double(a[i * d + k]) * b[j * d + k];
      EXPECT_NEAR(out[i * n + j], want, 1e-4) << i << "," << j;
    }
  }
  std::vector<float> norms = squared_norms(a.data(), m, d);
  EXPECT_FLOAT_EQ(norms[0],
                  4 + 3.0625f + 2.25f + 1.5625f + 1 + 0.5625f + 0.25f);
}

}  // namespace
}  // namespace vigil
