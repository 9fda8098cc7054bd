// FastFlow as an ONNX graph, from the model's saved tensors: per scale a
// LayerNorm and the flow's steps (vigil/fastflow.h, FlowStack), then the
// likelihood map. Every step is a plain ONNX operator.
#include <cmath>

#include "export/model_graphs.h"
#include "vigil/error.h"

namespace vigil {
namespace {

// torch::nn::LayerNorm's default.
constexpr float kLayerNormEpsilon = 1e-5f;

// x: n x c x h x w, normalised over c x h x w with the learned affine
// `prefix`.weight and .bias (c x h x w each).
std::string layer_norm(GraphBuilder& b, const std::string& x,
                       const TensorFile& tensors, const std::string& prefix) {
  const Tensor& weight = tensors.get(prefix + ".weight");
  auto reduce_mean = [&](const std::string& v) {
    return b.add("ReduceMean", {v},
                 {ints_attr("axes", {1, 2, 3}), int_attr("keepdims", 1)});
  };
  std::string centred = b.add("Sub", {x, reduce_mean(x)});
  std::string variance = reduce_mean(b.add("Mul", {centred, centred}));
  std::string deviation = b.add(
      "Sqrt",
      {b.add("Add", {variance, b.floats("eps", {}, {kLayerNormEpsilon})})});
  std::string y = b.add("Div", {centred, deviation});
  y = b.add("Mul", {y, b.floats_data("ln_weight", weight.shape,
                                     tensors.f32(prefix + ".weight"))});
  return b.add("Add",
               {y, b.floats_data("ln_bias", weight.shape,
                                 tensors.f32(prefix + ".bias", weight.shape))});
}

// g = 0.1 * softplus(global_scale) with beta 0.5 and torch's threshold of
// 20, in float as LibTorch computes it: 1 x c x 1 x 1.
std::vector<float> global_gain(const TensorFile& tensors,
                               const std::string& prefix, std::int64_t c) {
  const float* v = tensors.f32(prefix + ".global_scale", {1, c, 1, 1});
  std::vector<float> g(c);
  for (std::int64_t i = 0; i < c; ++i) {
    float scaled = 0.5f * v[i];
    float softplus =
        scaled > 20.0f ? v[i] : std::log1p(std::exp(scaled)) / 0.5f;
    g[i] = 0.1f * softplus;
  }
  return g;
}

// One AllInOneBlock forward (z only; the log-determinant is not scored).
std::string flow_step(GraphBuilder& b, const std::string& x,
                      const TensorFile& tensors, const std::string& prefix,
                      std::int64_t c, float clamp) {
  const std::int64_t c1 = c - c / 2, c2 = c / 2;
  const int pad =
      static_cast<int>(tensors.get(prefix + ".conv1.weight").shape.at(2) / 2);
  std::string x1 = slice_channels(b, x, 0, c1);
  std::string x2 = slice_channels(b, x, c1, c);
  std::string hidden =
      b.add("Relu", {conv_graph(b, x1, tensors, prefix + ".conv1", pad)});
  std::string a =
      b.add("Mul", {conv_graph(b, hidden, tensors, prefix + ".conv2", pad),
                    b.floats("tenth", {}, {0.1f})});
  std::string s = b.add("Mul", {b.add("Tanh", {slice_channels(b, a, 0, c2)}),
                                b.floats("clamp", {}, {clamp})});
  std::string t = slice_channels(b, a, c2, 2 * c2);
  std::string y2 = b.add("Add", {b.add("Mul", {x2, b.add("Exp", {s})}), t});
  std::string u = b.add("Concat", {x1, y2}, {int_attr("axis", 1)});
  u = b.add("Mul", {u, b.floats("gain", {1, c, 1, 1},
                                global_gain(tensors, prefix, c))});
  u = b.add(
      "Add",
      {u, b.floats_data("offset", {1, c, 1, 1},
                        tensors.f32(prefix + ".global_offset", {1, c, 1, 1}))});
  return b.add(
      "Gather",
      {u, b.ints_data("perm", {c}, tensors.i64(prefix + ".perm", {c}))},
      {int_attr("axis", 1)});
}

// -exp(-0.5 * mean_c(z^2)), upsampled to the input size.
std::string likelihood_map(GraphBuilder& b, const std::string& z, int height,
                           int width) {
  std::string mean = b.add("ReduceMean", {b.add("Mul", {z, z})},
                           {ints_attr("axes", {1}), int_attr("keepdims", 1)});
  std::string p =
      b.add("Exp", {b.add("Mul", {mean, b.floats("minus_half", {}, {-0.5f})})});
  return resize_to(b, b.add("Neg", {p}), height, width, ResizeMode::kLinear);
}

}  // namespace

ScoringGraph fastflow_graph(GraphBuilder& b, const ExportInput& in) {
  // Read from the saved config rather than through fastflow.h's parser,
  // so that the exporter builds without the LibTorch models.
  int flow_steps = 0;
  float clamp = 0.0f;
  try {
    flow_steps = in.config.at("options").at("flow_steps").get<int>();
    clamp = in.config.at("options").at("clamp").get<float>();
  } catch (const nlohmann::json::exception& e) {
    throw Error("fastflow config", e.what());
  }
  std::string sum;
  for (std::size_t j = 0; j < in.taps.size(); ++j) {
    const std::string scale = "scale" + std::to_string(j);
    const TapShape& tap = in.tap_shapes[j];
    const std::int64_t c = tap.channels;
    if (in.tensors.get(scale + ".norm.weight").shape !=
        std::vector<std::int64_t>{c, tap.height, tap.width}) {
      throw Error("fastflow", "tap " + std::to_string(j) +
                                  " of the "
                                  "backbone differs from the trained shape");
    }
    std::string x = layer_norm(b, in.taps[j], in.tensors, scale + ".norm");
    for (int i = 0; i < flow_steps; ++i) {
      x = flow_step(b, x, in.tensors, scale + ".flow.step" + std::to_string(i),
                    c, clamp);
    }
    std::string map = likelihood_map(b, x, in.height, in.width);
    sum = sum.empty() ? map : b.add("Add", {sum, map});
  }
  ScoringGraph out;
  out.anomaly_map =
      b.add("Div", {sum, b.floats("scales", {}, {float(in.taps.size())})});
  out.image_score =
      b.add("ReduceMax", {out.anomaly_map},
            {ints_attr("axes", {1, 2, 3}), int_attr("keepdims", 0)});
  return out;
}

}  // namespace vigil
