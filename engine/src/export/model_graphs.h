// One scoring graph per model type, built from the model's saved tensors
// (internal to the exporter; the entry point is vigil/export.h).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "export/graph_builder.h"
#include "export/graph_parts.h"
#include "vigil/model.h"
#include "vigil/tensor_file.h"

namespace vigil {

// A backbone tap's shape for one image at the network input size.
struct TapShape {
  int channels = 0, height = 0, width = 0;
};

// What a model type's graph builder reads.
struct ExportInput {
  TensorFile tensors;         // the model's tensors (Model::write_tensors)
  nlohmann::json config;      // the model's options (Model::config)
  int height = 0, width = 0;  // network input size
  // n x 3 x height x width, float32: the preprocessed image.
  std::string network_input;
  // The backbone's taps in the graph (n x c x h x w each) and their
  // shapes; empty for models without a backbone.
  std::vector<std::string> taps;
  std::vector<TapShape> tap_shapes;
};

// Raw outputs, before the calibration's normalisation.
struct ScoringGraph {
  std::string anomaly_map;  // n x 1 x height x width, float32
  std::string image_score;  // n, float32
};

// build_embedding() (models/embedding.h) as a graph: each tap optionally
// 3 x 3 average-pooled (zero padding counted), brought to the first tap's
// grid, then concatenated over channels. Returns n x d x h x w.
std::string embedding_graph(GraphBuilder& b, const ExportInput& in,
                            bool local_average, ResizeMode upsample);

// A 2-D convolution with the tensors `prefix`.weight (out x in x kh x kw)
// and `prefix`.bias (out) of `tensors`, zero `padding` on every side, as
// torch::nn::Conv2d. Throws vigil::Error naming a missing tensor.
std::string conv_graph(GraphBuilder& b, const std::string& x,
                       const TensorFile& tensors, const std::string& prefix,
                       int padding, int stride = 1);

// Each throws vigil::Error when the model's tensors or options cannot be
// exported (see vigil/export.h).
ScoringGraph patchcore_graph(GraphBuilder& b, const ExportInput& in);
ScoringGraph padim_graph(GraphBuilder& b, const ExportInput& in);
ScoringGraph fastflow_graph(GraphBuilder& b, const ExportInput& in);
ScoringGraph efficientad_graph(GraphBuilder& b, const ExportInput& in);

}  // namespace vigil
