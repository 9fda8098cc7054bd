// Finding the mask of a defective image, shared by both dataset layouts.
#pragma once

#include <string>

#include "vigil/dataset.h"

namespace vigil::dataset_detail {

// "<mask_dir>/<stem of image_path>_mask.png".
std::string mask_path_for(const std::string& mask_dir,
                          const std::string& image_path);

// A defective sample whose mask is <mask_dir>/<stem>_mask.png; when that
// file does not exist, mask_path stays empty and a warning names the image.
// An empty mask_dir means no masks at all: no lookup, no warning.
Sample defective_sample(const std::string& image_path,
                        const std::string& mask_dir,
                        const std::string& defect_type);

Sample normal_sample(const std::string& image_path);

}  // namespace vigil::dataset_detail
