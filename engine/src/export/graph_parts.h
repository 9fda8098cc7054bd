// Subgraphs that every exported model shares (internal to the exporter).
// Each reproduces one native step of vigil's pipeline with ONNX operators;
// the comment on each says which, and the parity tests hold them to it.
#pragma once

#include <cstdint>
#include <string>

#include "export/graph_builder.h"
#include "vigil/preprocess.h"

namespace vigil {

enum class ResizeMode {
  // Half-pixel centres, clamped at the borders: cv::INTER_LINEAR and
  // PyTorch's bilinear with align_corners=False.
  kLinear,
  // Source index floor(dst * in / out): cv::INTER_NEAREST.
  kNearest,
};

// x: n x c x h x w, float32, n free. Returns x resized to height x width.
std::string resize_to(GraphBuilder& b, const std::string& x, int height,
                      int width, ResizeMode mode);

// x: n x c x h x w. Returns channels [from, to).
std::string slice_channels(GraphBuilder& b, const std::string& x,
                           std::int64_t from, std::int64_t to);

// image: n x 3 x h x w, RGB, float32 values 0..255. Returns what
// vigil::preprocess() makes after its resize and crop: channels in the
// Preprocess's order, times `scale`, minus `mean`, over `std`.
std::string preprocess_graph(GraphBuilder& b, const std::string& image,
                             const Preprocess& p);

// grid: n x 1 x h x w patch scores. Returns the n x 1 x height x width map
// grid_to_anomaly_map() makes (models/anomaly_map.h): bilinear upsampling,
// then a Gaussian blur of `sigma` as two 1-D convolutions with
// cv::getGaussianKernel's taps and reflected borders (BORDER_REFLECT_101).
// Throws vigil::Error when the map is no larger than the kernel's radius,
// where ONNX's reflect padding is undefined.
std::string anomaly_map_graph(GraphBuilder& b, const std::string& grid,
                              int height, int width, float sigma);

// Calibration's min-max normalisation applied to every element of `raw`
// (see vigil/calibration.h), including its step at a zero range.
std::string normalize_graph(GraphBuilder& b, const std::string& raw,
                            float threshold, float min, float max);

}  // namespace vigil
