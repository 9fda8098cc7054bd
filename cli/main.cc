// vigil: learn what normal looks like, then find what strays from it.
#include <cstdlib>
#include <iostream>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "commands.h"
#include "vigil/error.h"

int main(int argc, char** argv) {
  CLI::App app{"vigil: visual anomaly detection from normal images"};
  app.require_subcommand(1);
  bool verbose = false;
  bool quiet = false;
  app.add_flag("-v,--verbose", verbose, "log details (debug level)");
  app.add_flag("-q,--quiet", quiet, "log warnings and errors only");
  app.parse_complete_callback([&] {
    spdlog::set_level(verbose ? spdlog::level::debug
                      : quiet ? spdlog::level::warn
                              : spdlog::level::info);
  });
  // Logs go to stderr so that stdout carries only results (JSON lines).
  spdlog::set_default_logger(spdlog::stderr_color_mt("vigil"));
  spdlog::set_pattern("[%H:%M:%S.%e] [%^%l%$] %v");

  vigil::cli::add_train_command(app);
  vigil::cli::add_test_command(app);
  vigil::cli::add_predict_command(app);
  vigil::cli::add_export_command(app);
  vigil::cli::add_distill_command(app);
#ifdef VIGIL_HAVE_SERVICE
  vigil::cli::add_serve_command(app);
  vigil::cli::add_model_command(app);
  vigil::cli::add_dataset_command(app);
#endif

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const vigil::Error& e) {
    spdlog::error("{}", e.what());
    return 1;
  } catch (const std::exception& e) {
    spdlog::error("unexpected failure: {}", e.what());
    return 2;
  }
  return 0;
}
