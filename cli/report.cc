#include "report.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "vigil/error.h"

namespace vigil::cli {
namespace {

void row(const char* name, double value) {
  if (std::isnan(value)) {
    std::printf("  %-22s %10s\n", name, "n/a");
  } else {
    std::printf("  %-22s %10.4f\n", name, value);
  }
}

}  // namespace

void print_metrics_table(const std::string& title, const Metrics& m) {
  std::printf("\n%s\n", title.c_str());
  std::printf("  %-22s %10d (%d defective, %d with masks)\n", "images",
              m.n_images, m.n_anomalous, m.n_masks);
  row("image AUROC", m.image_auroc);
  row("pixel AUROC", m.pixel_auroc);
  row("AUPRO (FPR <= 0.3)", m.aupro);
  row("image F1-max", m.image_f1_max);
  row("image F1 at threshold", m.image_f1_at_threshold);
  row("mean ms per image", m.mean_latency_ms);
  std::fflush(stdout);
}

void write_json(const std::string& path, const nlohmann::json& j) {
  if (path == "-") {
    std::cout << j.dump(2) << std::endl;
    return;
  }
  std::ofstream out(path);
  out << j.dump(2) << '\n';
  if (!out) throw Error(path, "cannot write JSON");
}

void check_writable(const std::string& path) {
  if (path == "-") return;
  std::error_code error;
  bool existed = std::filesystem::exists(path, error);
  {
    std::ofstream probe(path, std::ios::app);
    if (!probe) {
      throw Error(path,
                  "cannot be written (missing folder or no permission); "
                  "nothing was done");
    }
  }
  if (!existed) std::filesystem::remove(path, error);
}

}  // namespace vigil::cli
