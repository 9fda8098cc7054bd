// Printing metrics for people (a table) and for programs (JSON), and
// checking an output path before long work.
#pragma once

#include <string>

#include "vigil/evaluate.h"

namespace vigil::cli {

void print_metrics_table(const std::string& title, const Metrics& m);

// Writes `j` to `path` ("-" for stdout). Throws vigil::Error naming the
// file on failure.
void write_json(const std::string& path, const nlohmann::json& j);

// Throws vigil::Error naming `path` when a file cannot be written there
// (missing folder, no permission), so that long work finds out first.
// Leaves an existing file as it is and no new one behind.
void check_writable(const std::string& path);

}  // namespace vigil::cli
