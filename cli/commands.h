// The `vigil` subcommands. Each adds itself to the app and runs when
// chosen; each is a thin layer over the engine (or storage, or service).
#pragma once

#include <CLI/CLI.hpp>

namespace vigil::cli {

void add_train_command(CLI::App& app);
void add_test_command(CLI::App& app);
void add_predict_command(CLI::App& app);
void add_export_command(CLI::App& app);
void add_distill_command(CLI::App& app);
#ifdef VIGIL_HAVE_SERVICE
void add_serve_command(CLI::App& app);
void add_model_command(CLI::App& app);
void add_dataset_command(CLI::App& app);
#endif

}  // namespace vigil::cli
