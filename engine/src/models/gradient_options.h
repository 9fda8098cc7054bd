// Reading the shared training loop keys (vigil/gradient_training.h) from a
// model's JSON options, and writing them back.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "models/options.h"
#include "vigil/gradient_training.h"

namespace vigil {

// Reads every key of GradientTrainingOptions that `reader` holds into `o`
// (keeping the defaults already in `o`), then checks the values. Throws
// vigil::Error naming the model and the bad key.
void read_gradient_options(OptionReader& reader, const std::string& model,
                           GradientTrainingOptions& o);

nlohmann::json to_json(const GradientTrainingOptions& o);

}  // namespace vigil
