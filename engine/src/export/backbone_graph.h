// Copying a model's backbone into the exported graph (internal).
#pragma once

#include <string>
#include <vector>

#include "export/graph_builder.h"
#include "vigil/backbone.h"

namespace vigil {

// Splices the backbone's ONNX graph, cut at its taps (backbone/graph_cut.h)
// and converted to `opset` with ONNX's version converter (an opset-10
// Clip's min/max attributes become inputs, for instance), into b's graph.
// Every tensor of the backbone is renamed "backbone/<name>"; its input
// becomes `input`. Returns the taps' new names, in the order of
// backbone.options().layers.
// Throws vigil::Error naming the backbone file when it cannot be read, uses
// an opset newer than `opset`, an operator domain other than ONNX's, or
// cannot be converted.
std::vector<std::string> splice_backbone(GraphBuilder& b,
                                         const Backbone& backbone,
                                         const std::string& input, int opset);

}  // namespace vigil
