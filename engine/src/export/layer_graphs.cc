#include "export/model_graphs.h"
#include "vigil/error.h"

namespace vigil {

std::string embedding_graph(GraphBuilder& b, const ExportInput& in,
                            bool local_average, ResizeMode upsample) {
  VIGIL_ASSERT(!in.taps.empty() && in.taps.size() == in.tap_shapes.size());
  const TapShape& grid = in.tap_shapes[0];
  std::vector<std::string> parts;
  for (std::size_t i = 0; i < in.taps.size(); ++i) {
    std::string x = in.taps[i];
    if (local_average) {
      // cv::boxFilter normalised by 9 with zeros outside is PyTorch's
      // AvgPool2d(3, 1, 1) with count_include_pad=True.
      x = b.add(
          "AveragePool", {x},
          {ints_attr("kernel_shape", {3, 3}), ints_attr("strides", {1, 1}),
           ints_attr("pads", {1, 1, 1, 1}), int_attr("count_include_pad", 1)});
    }
    const TapShape& shape = in.tap_shapes[i];
    if (shape.height != grid.height || shape.width != grid.width) {
      x = resize_to(b, x, grid.height, grid.width, upsample);
    }
    parts.push_back(x);
  }
  if (parts.size() == 1) return parts[0];
  return b.add("Concat", parts, {int_attr("axis", 1)});
}

std::string conv_graph(GraphBuilder& b, const std::string& x,
                       const TensorFile& tensors, const std::string& prefix,
                       int padding, int stride) {
  const Tensor& weight = tensors.get(prefix + ".weight");
  if (weight.shape.size() != 4) throw Error(prefix + ".weight", "not 4-D");
  const std::int64_t out = weight.shape[0];
  std::string w =
      b.floats_data("weight", weight.shape, tensors.f32(prefix + ".weight"));
  std::string bias =
      b.floats_data("bias", {out}, tensors.f32(prefix + ".bias", {out}));
  return b.add("Conv", {x, w, bias},
               {ints_attr("pads", {padding, padding, padding, padding}),
                ints_attr("strides", {stride, stride})});
}

}  // namespace vigil
