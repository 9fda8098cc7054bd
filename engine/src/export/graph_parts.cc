#include "export/graph_parts.h"

#include <opencv2/imgproc.hpp>

#include "vigil/error.h"

namespace vigil {

std::string resize_to(GraphBuilder& b, const std::string& x, int height,
                      int width, ResizeMode mode) {
  // Sizes rather than scales: a float scale such as 57 / 15 could floor
  // the output size one short, and the batch stays free.
  std::string shape = b.add("Shape", {x});
  std::string batch_channels = b.add(
      "Slice", {shape, b.ints("start", {1}, {0}), b.ints("end", {1}, {2})});
  std::string sizes =
      b.add("Concat", {batch_channels, b.ints("size", {2}, {height, width})},
            {int_attr("axis", 0)});
  std::vector<onnx::AttributeProto> attributes;
  if (mode == ResizeMode::kLinear) {
    attributes = {string_attr("mode", "linear"),
                  string_attr("coordinate_transformation_mode", "half_pixel")};
  } else {
    attributes = {string_attr("mode", "nearest"),
                  string_attr("coordinate_transformation_mode", "asymmetric"),
                  string_attr("nearest_mode", "floor")};
  }
  return b.add("Resize", {x, "", "", sizes}, attributes);
}

std::string slice_channels(GraphBuilder& b, const std::string& x,
                           std::int64_t from, std::int64_t to) {
  return b.add("Slice", {x, b.ints("start", {1}, {from}),
                         b.ints("end", {1}, {to}), b.ints("axes", {1}, {1})});
}

std::string preprocess_graph(GraphBuilder& b, const std::string& image,
                             const Preprocess& p) {
  std::string x = image;
  if (p.bgr) {
    x = b.add("Gather", {image, b.ints("bgr", {3}, {2, 1, 0})},
              {int_attr("axis", 1)});
  }
  // The same float factors as preprocess()'s convertTo.
  std::vector<float> alpha(3), beta(3);
  for (int c = 0; c < 3; ++c) {
    int source = p.bgr ? 2 - c : c;
    alpha[c] = static_cast<float>(double(p.scale) / p.std[source]);
    beta[c] = static_cast<float>(-double(p.mean[source]) / p.std[source]);
  }
  x = b.add("Mul", {x, b.floats("alpha", {1, 3, 1, 1}, alpha)});
  return b.add("Add", {x, b.floats("beta", {1, 3, 1, 1}, beta)});
}

std::string anomaly_map_graph(GraphBuilder& b, const std::string& grid,
                              int height, int width, float sigma) {
  std::string map = resize_to(b, grid, height, width, ResizeMode::kLinear);
  if (sigma <= 0.0f) return map;
  const int size = 2 * static_cast<int>(4.0f * sigma + 0.5f) + 1;
  const int r = size / 2;
  if (r >= height || r >= width) {
    throw Error("export", "a " + std::to_string(height) + "x" +
                              std::to_string(width) +
                              " map is too small for a blur of sigma " +
                              std::to_string(sigma));
  }
  cv::Mat kernel = cv::getGaussianKernel(size, sigma, CV_32F);
  const float* taps = kernel.ptr<float>();
  std::string pads = b.ints("pads", {8}, {0, 0, r, r, 0, 0, r, r});
  map = b.add("Pad", {map, pads}, {string_attr("mode", "reflect")});
  map = b.add("Conv", {map, b.floats_data("blur_y", {1, 1, size, 1}, taps)});
  return b.add("Conv", {map, b.floats_data("blur_x", {1, 1, 1, size}, taps)});
}

std::string normalize_graph(GraphBuilder& b, const std::string& raw,
                            float threshold, float min, float max) {
  const float range = max - min;
  std::string centred =
      b.add("Sub", {raw, b.floats("threshold", {}, {threshold})});
  std::string half = b.floats("half", {}, {0.5f});
  if (!(range > 0.0f)) {
    // The formula's limit as the range shrinks: 0, 0.5 or 1.
    std::string sign = b.add("Sign", {centred});
    return b.add("Add", {b.add("Mul", {sign, half}), half});
  }
  std::string scaled = b.add("Div", {centred, b.floats("range", {}, {range})});
  return b.add("Clip",
               {b.add("Add", {scaled, half}), b.floats("zero", {}, {0.0f}),
                b.floats("one", {}, {1.0f})});
}

}  // namespace vigil
