// Cutting an ONNX classifier at its feature taps (internal).
#pragma once

#include <string>
#include <vector>

namespace vigil {

// Returns the serialised ModelProto of the graph in `onnx_bytes` cut at
// `taps`: the taps become the only outputs, nodes they do not depend on and
// unused initializers are removed, and the input's batch, height and width
// become free dimensions. `path` names the file in errors.
// Throws vigil::Error for bytes that are not ONNX or a tap that no node
// produces.
std::string cut_at_taps(const std::string& onnx_bytes,
                        const std::vector<std::string>& taps,
                        const std::string& path);

}  // namespace vigil
