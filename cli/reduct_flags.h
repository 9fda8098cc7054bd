// The ReductStore flags shared by `vigil model` and `vigil dataset pull`,
// named as `vigil serve` names them. Built only with the service library.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "vigil/storage/reduct_client.h"

namespace vigil::cli {

struct ReductFlags {
  std::string url = "http://127.0.0.1:8383";
  std::string token;

  // Adds --reduct-url and --reduct-token (or VIGIL_REDUCT_TOKEN).
  void add_to(CLI::App& command);
  storage::ReductClient client() const;
};

}  // namespace vigil::cli
