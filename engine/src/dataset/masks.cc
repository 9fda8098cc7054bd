#include "dataset/masks.h"

#include <filesystem>

#include <spdlog/spdlog.h>

namespace vigil::dataset_detail {

namespace fs = std::filesystem;

std::string mask_path_for(const std::string& mask_dir,
                          const std::string& image_path) {
  std::string stem = fs::path(image_path).stem().string();
  return (fs::path(mask_dir) / (stem + "_mask.png")).string();
}

Sample defective_sample(const std::string& image_path,
                        const std::string& mask_dir,
                        const std::string& defect_type) {
  Sample sample;
  sample.image_path = image_path;
  sample.is_anomalous = true;
  sample.defect_type = defect_type;
  if (mask_dir.empty()) return sample;

  std::string mask = mask_path_for(mask_dir, image_path);
  std::error_code error;
  if (fs::is_regular_file(mask, error)) {
    sample.mask_path = mask;
  } else {
    spdlog::warn(
        "{}: defective image has no mask ({} not found); it counts for the "
        "image metrics only",
        image_path, mask);
  }
  return sample;
}

Sample normal_sample(const std::string& image_path) {
  Sample sample;
  sample.image_path = image_path;
  sample.defect_type = "good";
  return sample;
}

}  // namespace vigil::dataset_detail
