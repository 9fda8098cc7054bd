// The dataset flags shared by `train` and `test`.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "vigil/dataset.h"

namespace vigil::cli {

struct DatasetFlags {
  std::string root;
  std::string format = "auto";  // auto, mvtec, folder
  std::string normal_dir = "normal";
  std::string abnormal_dir = "abnormal";
  std::string mask_dir = "masks";
  std::string normal_test_dir = "normal_test";
  double holdout_fraction = 0.2;
  std::uint64_t seed = 0;

  void add_to(CLI::App& command);
  // Throws vigil::Error naming the folder and the cause.
  Dataset load() const;
};

}  // namespace vigil::cli
