// Printing metrics for people (a table) and for programs (JSON).
#pragma once

#include <string>

#include "vigil/evaluate.h"

namespace vigil::cli {

void print_metrics_table(const std::string& title, const Metrics& m);

// Writes `j` to `path` ("-" for stdout). Throws vigil::Error naming the
// file on failure.
void write_json(const std::string& path, const nlohmann::json& j);

}  // namespace vigil::cli
