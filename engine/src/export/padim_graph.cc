// PaDiM as an ONNX graph: one Mahalanobis distance per feature position,
// all positions in one batched matrix product.
#include "export/model_graphs.h"
#include "vigil/error.h"
#include "vigil/padim.h"

namespace vigil {
namespace {

struct Gaussians {
  std::int64_t h = 0, w = 0, d = 0;
  const std::int64_t* channels = nullptr;     // d
  const float* mean = nullptr;                // h x w x d
  const float* inverse_covariance = nullptr;  // h x w x d x d
};

Gaussians read_gaussians(const TensorFile& tensors) {
  const Tensor& mean = tensors.get("mean");
  if (mean.shape.size() != 3) throw Error("mean", "must be 3-D");
  Gaussians g;
  g.h = mean.shape[0], g.w = mean.shape[1], g.d = mean.shape[2];
  g.channels = tensors.i64("channels", {g.d});
  g.mean = tensors.f32("mean", {g.h, g.w, g.d});
  g.inverse_covariance =
      tensors.f32("inverse_covariance", {g.h, g.w, g.d, g.d});
  return g;
}

// embedding: n x c x h x w. Returns the n x 1 x h x w grid of distances.
std::string mahalanobis_graph(GraphBuilder& b, const std::string& embedding,
                              const Gaussians& g) {
  const std::int64_t positions = g.h * g.w;
  std::string chosen =
      b.add("Gather", {embedding, b.ints_data("channels", {g.d}, g.channels)},
            {int_attr("axis", 1)});
  std::string by_position = b.add(
      "Transpose",
      {b.add("Reshape", {chosen, b.ints("shape", {3}, {-1, g.d, positions})})},
      {ints_attr("perm", {2, 0, 1})});
  std::string delta = b.add(
      "Sub", {by_position, b.floats_data("mean", {positions, 1, g.d}, g.mean)});
  std::string product =
      b.add("MatMul",
            {delta, b.floats_data("inverse_covariance", {positions, g.d, g.d},
                                  g.inverse_covariance)});
  std::string squared = b.add(
      "ReduceSum", {b.add("Mul", {product, delta}), b.ints("axes", {1}, {2})},
      {int_attr("keepdims", 0)});
  std::string distance = b.add("Sqrt", {b.add("Relu", {squared})});
  return b.add("Reshape",
               {b.add("Transpose", {distance}, {ints_attr("perm", {1, 0})}),
                b.ints("shape", {4}, {-1, 1, g.h, g.w})});
}

}  // namespace

ScoringGraph padim_graph(GraphBuilder& b, const ExportInput& in) {
  PadimOptions options = padim_options_from_json(in.config);
  Gaussians g = read_gaussians(in.tensors);
  const TapShape& grid = in.tap_shapes[0];
  if (grid.height != g.h || grid.width != g.w) {
    throw Error("mean", "a " + std::to_string(g.h) + "x" + std::to_string(g.w) +
                            " grid, but the backbone gives " +
                            std::to_string(grid.height) + "x" +
                            std::to_string(grid.width));
  }
  // anomalib brings PaDiM's deeper taps up with nearest neighbours.
  std::string embedding = embedding_graph(b, in, false, ResizeMode::kNearest);
  std::string scores = mahalanobis_graph(b, embedding, g);

  ScoringGraph out;
  out.anomaly_map =
      anomaly_map_graph(b, scores, in.height, in.width, options.sigma);
  out.image_score =
      b.add("ReduceMax", {out.anomaly_map},
            {ints_attr("axes", {1, 2, 3}), int_attr("keepdims", 0)});
  return out;
}

}  // namespace vigil
