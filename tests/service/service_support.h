// What the service tests share: a tiny PaDiM trained once per process, the
// sample images it scores, a configuration pointing at a test ReductStore,
// and waiting for a condition with a guard against hanging.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "storage/reduct_server.h"
#include "vigil/detector.h"
#include "vigil/service/config.h"

namespace vigil::testing {

// A PaDiM on MobileNetV2 at 128 x 128 (8 training images, 20 features),
// calibrated on sample_images() so that about half of them are anomalous.
// Trained on first use (seconds); the file lives until the process ends.
const std::string& tiny_model_path();

// `n` images from magnetic_tile's test split, normal and defective
// alternating, sorted by name within each kind.
std::vector<std::filesystem::path> sample_images(int n);

// HTTP on any free port with `token`, storage at `server`, the spool in
// `spool_dir`; no watched folder or video.
service::ServiceConfig test_config(const ReductServer& server,
                                   const std::filesystem::path& spool_dir,
                                   const std::string& token);

// Polls `condition` every 20 ms; false if it is still false after
// `guard_s` seconds (a hang guard, not a measurement).
bool wait_until(const std::function<bool()>& condition, int guard_s = 30);

}  // namespace vigil::testing
