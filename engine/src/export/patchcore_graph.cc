// PatchCore as an ONNX graph: exact nearest-neighbour search by matrix
// product, and the image-score reweighting with support sets computed here.
#include <algorithm>

#include <faiss/IndexFlat.h>
#include <spdlog/spdlog.h>

#include "export/model_graphs.h"
#include "vigil/error.h"
#include "vigil/patchcore.h"

namespace vigil {
namespace {

using idx_t = faiss::Index::idx_t;

struct Bank {
  std::int64_t n = 0;
  int d = 0;
  const float* data = nullptr;  // n x d, row-major
};

Bank read_bank(const TensorFile& tensors) {
  const Tensor& t = tensors.get("memory_bank");
  if (t.shape.size() != 2) throw Error("memory_bank", "must be 2-D");
  return {t.shape[0], static_cast<int>(t.shape[1]), tensors.f32("memory_bank")};
}

// For every bank row, its k nearest bank rows (itself first): what the
// native model asks its index for one row at a time, asked the same way
// (one query per call takes FAISS's exact, non-BLAS path) so near-ties
// break alike. n x k, row-major, int64.
std::vector<std::int64_t> support_sets(const Bank& bank, int k) {
  faiss::IndexFlatL2 index(bank.d);
  index.add(bank.n, bank.data);
  std::vector<std::int64_t> support(std::size_t(bank.n) * k);
#pragma omp parallel
  {
    std::vector<float> unused(k);
    std::vector<idx_t> found(k);
#pragma omp for schedule(static)
    for (std::int64_t i = 0; i < bank.n; ++i) {
      index.search(1, bank.data + i * bank.d, k, unused.data(), found.data());
      std::copy(found.begin(), found.end(), support.begin() + i * k);
    }
  }
  return support;
}

struct Nearest {
  std::string distance;  // p, float32
  std::string index;     // p, int64 bank row
};

// x: p x d patches. FAISS's exact L2 for many queries, as a graph:
// |x|^2 + |m|^2 - 2 x.m, clamped at 0 before the square root.
Nearest nearest_in_bank(GraphBuilder& b, const std::string& x,
                        const std::string& bank) {
  std::string xx = b.add("ReduceSumSquare", {x},
                         {ints_attr("axes", {1}), int_attr("keepdims", 1)});
  std::string mm = b.add("ReduceSumSquare", {bank},
                         {ints_attr("axes", {1}), int_attr("keepdims", 0)});
  mm = b.add("Unsqueeze", {mm, b.ints("axes", {1}, {0})});
  // -2 m^T is exact (a power of two) and folds into one constant.
  std::string minus_two_mt =
      b.add("Mul", {b.add("Transpose", {bank}, {ints_attr("perm", {1, 0})}),
                    b.floats("minus_two", {}, {-2.0f})});
  std::string squared = b.add(
      "Add", {b.add("Add", {xx, mm}), b.add("MatMul", {x, minus_two_mt})});
  Nearest nearest;
  nearest.index = b.add("ArgMin", {squared},
                        {int_attr("axis", 1), int_attr("keepdims", 0)});
  std::string smallest =
      b.add("ReduceMin", {squared},
            {ints_attr("axes", {1}), int_attr("keepdims", 0)});
  nearest.distance = b.add("Sqrt", {b.add("Relu", {smallest})});
  return nearest;
}

struct ScoreInputs {
  std::string patches;  // p x d
  Nearest nearest;
  std::string bank;  // bank x d
  int per_image = 0, d = 0;
};

// The paper's reweighting (eq. 7), as PatchCore::image_score: the top
// patch's distance times 1 - softmax(distances to the support set of its
// nearest bank row)[0].
std::string reweighted_score(GraphBuilder& b, const ScoreInputs& s,
                             const std::string& support) {
  std::string per_image = b.ints("per_image", {2}, {-1, s.per_image});
  std::string grid = b.add("Reshape", {s.nearest.distance, per_image});
  std::string top =
      b.add("ArgMax", {grid}, {int_attr("axis", 1), int_attr("keepdims", 1)});
  std::string axis1 = b.ints("axes", {1}, {1});
  std::string top_score = b.add(
      "Squeeze",
      {b.add("GatherElements", {grid, top}, {int_attr("axis", 1)}), axis1});

  std::string indices = b.add("Reshape", {s.nearest.index, per_image});
  std::string top_nearest = b.add(
      "Squeeze",
      {b.add("GatherElements", {indices, top}, {int_attr("axis", 1)}), axis1});
  std::string neighbours =
      b.add("Gather", {s.bank, b.add("Gather", {support, top_nearest})});

  std::string patches = b.add(
      "Reshape", {s.patches, b.ints("shape", {3}, {-1, s.per_image, s.d})});
  std::string at =
      b.add("Expand", {b.add("Unsqueeze", {top, b.ints("axes", {1}, {2})}),
                       b.ints("shape", {3}, {1, 1, s.d})});
  std::string feature =
      b.add("GatherElements", {patches, at}, {int_attr("axis", 1)});
  std::string distances = b.add(
      "Sqrt", {b.add("ReduceSumSquare", {b.add("Sub", {neighbours, feature})},
                     {ints_attr("axes", {2}), int_attr("keepdims", 0)})});
  std::string first =
      b.add("Gather",
            {b.add("Softmax", {distances}, {int_attr("axis", 1)}),
             b.ints("first", {}, {0})},
            {int_attr("axis", 1)});
  std::string weight = b.add("Sub", {b.floats("one", {}, {1.0f}), first});
  return b.add("Mul", {weight, top_score});
}

}  // namespace

ScoringGraph patchcore_graph(GraphBuilder& b, const ExportInput& in) {
  PatchCoreOptions options = patchcore_options_from_json(in.config);
  if (options.search != "exact") {
    spdlog::warn(
        "export: this patchcore model searches its memory bank with '{}' "
        "(approximate); the ONNX graph searches exactly, so its scores can "
        "differ slightly from the native model's (they equal those of "
        "search 'exact')",
        options.search);
  }
  Bank bank = read_bank(in.tensors);
  std::string embedding = embedding_graph(b, in, true, ResizeMode::kLinear);
  const TapShape& grid = in.tap_shapes[0];
  int d = 0;
  for (const TapShape& tap : in.tap_shapes) d += tap.channels;
  if (d != bank.d) {
    throw Error("memory_bank", "has " + std::to_string(bank.d) +
                                   " dimensions, the backbone's taps " +
                                   std::to_string(d));
  }

  ScoreInputs s;
  s.d = d;
  s.per_image = grid.height * grid.width;
  s.patches =
      b.add("Reshape",
            {b.add("Transpose", {embedding}, {ints_attr("perm", {0, 2, 3, 1})}),
             b.ints("shape", {2}, {-1, d})});
  s.bank = b.floats_data("memory_bank", {bank.n, bank.d}, bank.data);
  s.nearest = nearest_in_bank(b, s.patches, s.bank);

  ScoringGraph out;
  std::string scores = b.add(
      "Reshape", {s.nearest.distance,
                  b.ints("shape", {4}, {-1, 1, grid.height, grid.width})});
  out.anomaly_map =
      anomaly_map_graph(b, scores, in.height, in.width, options.sigma);
  const int k =
      static_cast<int>(std::min<std::int64_t>(options.num_neighbors, bank.n));
  if (k < 2) {
    out.image_score =
        b.add("ReduceMax", {scores},
              {ints_attr("axes", {1, 2, 3}), int_attr("keepdims", 0)});
    return out;
  }
  std::string support =
      b.ints("support_sets", {bank.n, k}, support_sets(bank, k));
  out.image_score = reweighted_score(b, s, support);
  return out;
}

}  // namespace vigil
