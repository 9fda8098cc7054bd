#include "backbone/graph_cut.h"

#include <set>
#include <unordered_set>

#include <onnx/onnx_pb.h>

#include "vigil/error.h"

namespace vigil {
namespace {

// Keeps the nodes whose outputs the taps need. ONNX stores nodes in
// topological order, so one backward pass finds them all.
void prune_nodes(onnx::GraphProto* graph,
                 const std::vector<std::string>& taps) {
  std::unordered_set<std::string> needed(taps.begin(), taps.end());
  std::vector<bool> keep(graph->node_size(), false);
  for (int i = graph->node_size() - 1; i >= 0; --i) {
    const onnx::NodeProto& node = graph->node(i);
    for (const std::string& output : node.output()) {
      if (needed.count(output)) keep[i] = true;
    }
    if (!keep[i]) continue;
    for (const std::string& input : node.input()) needed.insert(input);
  }
  google::protobuf::RepeatedPtrField<onnx::NodeProto> kept;
  for (int i = 0; i < graph->node_size(); ++i) {
    if (keep[i]) *kept.Add() = graph->node(i);
  }
  graph->mutable_node()->Swap(&kept);

  google::protobuf::RepeatedPtrField<onnx::TensorProto> initializers;
  for (const onnx::TensorProto& t : graph->initializer()) {
    if (needed.count(t.name())) *initializers.Add() = t;
  }
  graph->mutable_initializer()->Swap(&initializers);
}

void check_taps_exist(const onnx::GraphProto& graph,
                      const std::vector<std::string>& taps,
                      const std::string& path) {
  std::set<std::string> produced;
  for (const onnx::NodeProto& node : graph.node()) {
    produced.insert(node.output().begin(), node.output().end());
  }
  for (const std::string& tap : taps) {
    if (!produced.count(tap)) {
      throw Error(path, "no node produces tensor '" + tap +
                            "' (check --layers against the model's tensors)");
    }
  }
}

void check_tap_types(const onnx::GraphProto& graph,
                     const std::vector<std::string>& taps,
                     const std::string& path) {
  std::set<std::string> tap_set(taps.begin(), taps.end());
  for (const onnx::ValueInfoProto& info : graph.value_info()) {
    if (!tap_set.count(info.name())) continue;
    int type = info.type().tensor_type().elem_type();
    if (type != 0 && type != onnx::TensorProto::FLOAT) {
      throw Error(path, "tap '" + info.name() +
                            "' is not float32 (a quantized tensor?); use a "
                            "float model");
    }
  }
}

void free_input_dims(onnx::GraphProto* graph) {
  std::set<std::string> initializers;
  for (const onnx::TensorProto& t : graph->initializer()) {
    initializers.insert(t.name());
  }
  static const char* kNames[] = {"batch", "channels", "height", "width"};
  for (onnx::ValueInfoProto& input : *graph->mutable_input()) {
    if (initializers.count(input.name())) continue;
    auto* shape = input.mutable_type()->mutable_tensor_type()->mutable_shape();
    for (int d = 0; d < shape->dim_size() && d < 4; ++d) {
      if (d == 1) continue;
      shape->mutable_dim(d)->set_dim_param(kNames[d]);
    }
  }
}

}  // namespace

std::string cut_at_taps(const std::string& onnx_bytes,
                        const std::vector<std::string>& taps,
                        const std::string& path) {
  onnx::ModelProto model;
  if (!model.ParseFromString(onnx_bytes) || !model.has_graph()) {
    throw Error(path, "not an ONNX model (cannot parse)");
  }
  if (taps.empty()) throw Error(path, "no feature taps given (--layers)");
  onnx::GraphProto* graph = model.mutable_graph();
  check_taps_exist(*graph, taps, path);
  check_tap_types(*graph, taps, path);

  graph->clear_output();
  for (const std::string& tap : taps) {
    onnx::ValueInfoProto* output = graph->add_output();
    output->set_name(tap);
    output->mutable_type()->mutable_tensor_type()->set_elem_type(
        onnx::TensorProto::FLOAT);
  }
  prune_nodes(graph, taps);
  free_input_dims(graph);
  // Shapes recorded for a 224 x 224 input would contradict other sizes.
  graph->clear_value_info();

  std::string bytes;
  model.SerializeToString(&bytes);
  return bytes;
}

}  // namespace vigil
