#include "models/gradient_options.h"
#include "models/options.h"
#include "vigil/fastflow.h"

namespace vigil {

FastFlowOptions fastflow_options_from_json(const nlohmann::json& j) {
  FastFlowOptions o;
  OptionReader reader(j, "fastflow");
  reader.read("flow_steps", o.flow_steps);
  reader.read("hidden_ratio", o.hidden_ratio);
  reader.read("clamp", o.clamp);
  reader.read("conv3x3_only", o.conv3x3_only);
  read_gradient_options(reader, "fastflow", o.training);
  reader.reject_unknown();
  require_option(o.flow_steps > 0, "fastflow", "flow_steps",
                 "must be positive");
  require_option(o.hidden_ratio > 0, "fastflow", "hidden_ratio",
                 "must be positive");
  require_option(o.clamp > 0, "fastflow", "clamp", "must be positive");
  return o;
}

nlohmann::json to_json(const FastFlowOptions& o) {
  nlohmann::json j = to_json(o.training);
  j["flow_steps"] = o.flow_steps;
  j["hidden_ratio"] = o.hidden_ratio;
  j["clamp"] = o.clamp;
  j["conv3x3_only"] = o.conv3x3_only;
  return j;
}

}  // namespace vigil
