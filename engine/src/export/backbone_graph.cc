#include "export/backbone_graph.h"

#include <fstream>
#include <sstream>
#include <unordered_set>

#include <onnx/version_converter/convert.h>

#include "backbone/graph_cut.h"
#include "vigil/error.h"

namespace vigil {
namespace {

const char kPrefix[] = "backbone/";

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path, "cannot open (missing or unreadable)");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

int default_opset(const onnx::ModelProto& model) {
  for (const onnx::OperatorSetIdProto& id : model.opset_import()) {
    if (id.domain().empty() || id.domain() == "ai.onnx") return id.version();
  }
  return 1;
}

onnx::ModelProto to_opset(const onnx::ModelProto& model, int opset,
                          const std::string& path) {
  const int from = default_opset(model);
  if (from > opset) {
    throw Error(path, "uses ONNX opset " + std::to_string(from) +
                          ", newer than the export's " + std::to_string(opset));
  }
  if (from == opset) return model;
  try {
    return onnx::version_conversion::ConvertVersion(model, opset);
  } catch (const std::exception& e) {
    throw Error(path, "cannot convert from opset " + std::to_string(from) +
                          " to " + std::to_string(opset) + ": " + e.what());
  }
}

void check_domains(const onnx::GraphProto& graph, const std::string& path) {
  for (const onnx::NodeProto& node : graph.node()) {
    if (!node.domain().empty() && node.domain() != "ai.onnx") {
      throw Error(path, "node " + node.name() + " uses operator domain '" +
                            node.domain() +
                            "', which the export cannot "
                            "carry");
    }
  }
}

std::string graph_input(const onnx::GraphProto& graph) {
  std::unordered_set<std::string> initializers;
  for (const onnx::TensorProto& t : graph.initializer()) {
    initializers.insert(t.name());
  }
  for (const onnx::ValueInfoProto& input : graph.input()) {
    if (!initializers.count(input.name())) return input.name();
  }
  VIGIL_ASSERT(false && "a cut backbone always has an image input");
  return "";
}

// The converter may rewrite an initializer as a node's constant input, so
// both are moved across under their new names.
void move_renamed(onnx::GraphProto* from, const std::string& image,
                  const std::string& input, onnx::GraphProto* to) {
  auto rename = [&](const std::string& name) {
    if (name.empty()) return name;
    return name == image ? input : kPrefix + name;
  };
  int index = 0;
  for (onnx::NodeProto& node : *from->mutable_node()) {
    node.set_name(kPrefix + (node.name().empty()
                                 ? "node_" + std::to_string(index)
                                 : node.name()));
    ++index;
    for (std::string& name : *node.mutable_input()) name = rename(name);
    for (std::string& name : *node.mutable_output()) name = rename(name);
    *to->add_node() = std::move(node);
  }
  for (onnx::TensorProto& t : *from->mutable_initializer()) {
    t.set_name(rename(t.name()));
    *to->add_initializer() = std::move(t);
  }
}

}  // namespace

std::vector<std::string> splice_backbone(GraphBuilder& b,
                                         const Backbone& backbone,
                                         const std::string& input, int opset) {
  const BackboneOptions& options = backbone.options();
  std::string cut =
      cut_at_taps(read_bytes(options.path), options.layers, options.path);
  onnx::ModelProto model;
  VIGIL_ASSERT(model.ParseFromString(cut));
  model = to_opset(model, opset, options.path);
  check_domains(model.graph(), options.path);

  std::string image = graph_input(model.graph());
  move_renamed(model.mutable_graph(), image, input, &b.graph());
  std::vector<std::string> taps;
  for (const std::string& layer : options.layers)
    taps.push_back(kPrefix + layer);
  return taps;
}

}  // namespace vigil
