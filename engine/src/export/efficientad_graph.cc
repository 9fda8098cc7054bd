// EfficientAD as an ONNX graph, from the model's saved tensors: teacher,
// student and autoencoder (convolutions, ReLU, average pooling, bilinear
// resizing), the two maps and their quantile normalisation, as
// EfficientAdNet::anomaly_map (models/efficientad/efficientad_net.cc).
#include <algorithm>

#include "export/model_graphs.h"
#include "vigil/error.h"

namespace vigil {
namespace {

// anomalib pads the unpadded PDN's maps by 4 cells on each side.
constexpr int kMapPadding = 4;

// The options that shape the graph (vigil/efficientad.h).
struct Arch {
  std::int64_t teacher_channels = 0;
  bool padding = false;
  bool pad_maps = true;
};

struct Size2 {
  std::int64_t height = 0, width = 0;
};

int count_convs(const TensorFile& tensors, const std::string& prefix) {
  int n = 0;
  while (tensors.has(prefix + std::to_string(n + 1) + ".weight")) ++n;
  return n;
}

// The padded PDN's padding per layer (networks.cc's pdn_layers): 3 for the
// two first 4 x 4 convolutions, 1 for 3 x 3 ones, none otherwise.
int pdn_padding(int layer, std::int64_t kernel) {
  if (layer < 2) return 3;
  return kernel == 3 ? 1 : 0;
}

std::int64_t conv_size(std::int64_t in, std::int64_t kernel, int padding,
                       int stride) {
  return (in + 2 * padding - kernel) / stride + 1;
}

// Conv, ReLU, and 2 x 2 average pooling after the first two; no ReLU
// after the last. Sets *size to the output's size.
std::string pdn_graph(GraphBuilder& b, const std::string& x,
                      const TensorFile& tensors, const std::string& prefix,
                      bool padded, Size2* size) {
  const int layers = count_convs(tensors, prefix + ".conv");
  if (layers == 0) throw Error(prefix, "no convolutions in the model file");
  std::string y = x;
  for (int i = 0; i < layers; ++i) {
    const std::string name = prefix + ".conv" + std::to_string(i + 1);
    const std::int64_t kernel = tensors.get(name + ".weight").shape.at(2);
    const int pad = padded ? pdn_padding(i, kernel) : 0;
    y = conv_graph(b, y, tensors, name, pad);
    size->height = conv_size(size->height, kernel, pad, 1);
    size->width = conv_size(size->width, kernel, pad, 1);
    if (i + 1 == layers) break;
    y = b.add("Relu", {y});
    if (i >= 2) continue;
    // avg_pool2d's default counts the zero padding.
    const int pool_pad = padded ? 1 : 0;
    y = b.add("AveragePool", {y},
              {ints_attr("kernel_shape", {2, 2}), ints_attr("strides", {2, 2}),
               ints_attr("pads", {pool_pad, pool_pad, pool_pad, pool_pad}),
               int_attr("count_include_pad", 1)});
    size->height = conv_size(size->height, 2, pool_pad, 2);
    size->width = conv_size(size->width, 2, pool_pad, 2);
  }
  return y;
}

// The decoder's resize targets relative to the input (networks.cc's
// AutoEncoderImpl): max(1, size / divisor - minus).
std::vector<Size2> decoder_sizes(int height, int width) {
  const int divisors[] = {64, 32, 16, 8, 4, 2};
  const int minus[] = {1, 0, 1, 0, 1, 1};
  std::vector<Size2> sizes;
  for (int i = 0; i < 6; ++i) {
    sizes.push_back(
        {std::max<std::int64_t>(1, height / divisors[i] - minus[i]),
         std::max<std::int64_t>(1, width / divisors[i] - minus[i])});
  }
  return sizes;
}

std::string autoencoder_graph(GraphBuilder& b, const std::string& x,
                              const TensorFile& tensors, const ExportInput& in,
                              Size2 output) {
  std::string y = x;
  for (int i = 1; i <= 5; ++i) {
    y = b.add("Relu",
              {conv_graph(b, y, tensors,
                          "ae.encoder.enconv" + std::to_string(i), 1, 2)});
  }
  y = conv_graph(b, y, tensors, "ae.encoder.enconv6", 0);
  std::vector<Size2> sizes = decoder_sizes(in.height, in.width);
  sizes.push_back(output);
  for (int i = 0; i < 7; ++i) {
    y = resize_to(b, y, sizes[i].height, sizes[i].width, ResizeMode::kLinear);
    y = conv_graph(b, y, tensors, "ae.decoder.deconv" + std::to_string(i + 1),
                   i < 6 ? 2 : 1);
    y = b.add("Relu", {y});
  }
  return conv_graph(b, y, tensors, "ae.decoder.deconv8", 1);
}

std::string channel_mse(GraphBuilder& b, const std::string& a,
                        const std::string& b_tensor) {
  std::string d = b.add("Sub", {a, b_tensor});
  return b.add("ReduceMean", {b.add("Mul", {d, d})},
               {ints_attr("axes", {1}), int_attr("keepdims", 1)});
}

// Padded back by 4 cells (unpadded PDN), resized to the input, and mapped
// by 0.1 * (map - qa) / (qb - qa).
std::string normalized_map(GraphBuilder& b, const std::string& map,
                           const ExportInput& in, bool pad,
                           const std::string& quantiles) {
  std::string m = map;
  if (pad) {
    const int p = kMapPadding;
    m = b.add("Pad", {m, b.ints("pads", {8}, {0, 0, p, p, 0, 0, p, p})});
  }
  m = resize_to(b, m, in.height, in.width, ResizeMode::kLinear);
  const float qa = *in.tensors.f32("qa_" + quantiles, {1});
  const float qb = *in.tensors.f32("qb_" + quantiles, {1});
  std::string shifted = b.add("Sub", {m, b.floats("qa", {}, {qa})});
  std::string scaled = b.add("Mul", {shifted, b.floats("tenth", {}, {0.1f})});
  return b.add("Div", {scaled, b.floats("q_range", {}, {qb - qa})});
}

}  // namespace

ScoringGraph efficientad_graph(GraphBuilder& b, const ExportInput& in) {
  // Read from the saved config rather than through efficientad.h's
  // parser, so that the exporter builds without the LibTorch models.
  Arch arch;
  try {
    const nlohmann::json& o = in.config.at("options");
    arch.teacher_channels = o.at("teacher_channels").get<std::int64_t>();
    arch.padding = o.at("padding").get<bool>();
    arch.pad_maps = o.at("pad_maps").get<bool>();
  } catch (const nlohmann::json::exception& e) {
    throw Error("efficientad config", e.what());
  }
  const std::int64_t c = arch.teacher_channels;
  const TensorFile& t = in.tensors;
  const std::string& x = in.network_input;

  Size2 size{in.height, in.width};
  std::string teacher = pdn_graph(b, x, t, "teacher", arch.padding, &size);
  teacher = b.add(
      "Div", {b.add("Sub", {teacher, b.floats_data(
                                         "teacher_mean", {1, c, 1, 1},
                                         t.f32("teacher_mean", {1, c, 1, 1}))}),
              b.floats_data("teacher_std", {1, c, 1, 1},
                            t.f32("teacher_std", {1, c, 1, 1}))});
  Size2 unused{in.height, in.width};
  std::string student = pdn_graph(b, x, t, "student", arch.padding, &unused);
  std::string ae = autoencoder_graph(b, x, t, in, size);

  std::string st = channel_mse(b, teacher, slice_channels(b, student, 0, c));
  std::string stae = channel_mse(b, ae, slice_channels(b, student, c, 2 * c));
  const bool pad = arch.pad_maps && !arch.padding;
  std::string half = b.floats("half", {}, {0.5f});
  std::string st_map = normalized_map(b, st, in, pad, "st");
  std::string ae_map = normalized_map(b, stae, in, pad, "ae");
  ScoringGraph out;
  out.anomaly_map = b.add(
      "Add", {b.add("Mul", {st_map, half}), b.add("Mul", {ae_map, half})});
  out.image_score =
      b.add("ReduceMax", {out.anomaly_map},
            {ints_attr("axes", {1, 2, 3}), int_attr("keepdims", 0)});
  return out;
}

}  // namespace vigil
