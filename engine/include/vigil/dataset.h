// Datasets: where the normal and defective images and their masks are.
//
//   vigil::Dataset ds = vigil::load_mvtec("../shared/datasets/magnetic_tile");
//   for (const vigil::Sample& s : ds.train) ...   // all normal
//   for (const vigil::Sample& s : ds.test) ...    // normal and defective
//
// Two layouts:
//  - MVTec AD: <root>/train/good/*, <root>/test/<type>/*,
//    <root>/ground_truth/<type>/<stem>_mask.png. `good` is normal.
//  - Folder: a normal folder, an abnormal folder, a mask folder with
//    <stem>_mask.png (white = defect), an optional normal test folder. With
//    no normal test folder, `holdout_fraction` of the normal images (chosen
//    with `seed`) is held out for test.
// Only file names are listed here; images are decoded later. A defective
// image without a mask keeps an empty mask_path (it counts for the image
// metrics, not the pixel ones) and a warning is logged.
// A mask with no matching image is ignored (logged at debug level). Each
// folder is listed in sorted order, so the order is the same on every run.
// Functions throw vigil::Error naming the folder and the cause (missing
// folder, no images).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vigil {

struct Sample {
  std::string image_path;
  std::string mask_path;      // empty: no mask (normal, or mask missing)
  bool is_anomalous = false;  // false for normal images
  std::string defect_type;    // "good" for normal images
};

struct Dataset {
  std::string root;
  std::vector<Sample> train;  // normal images only
  std::vector<Sample> test;   // normal and defective
};

Dataset load_mvtec(const std::string& root);

// Defective images get the abnormal folder's name as defect_type. Holding
// out keeps at least one image for training and, with two or more, holds
// out at least one; the held-out normals join the test set.
struct FolderLayout {
  std::string normal_dir;       // required: defect-free images
  std::string abnormal_dir;     // optional: defective images
  std::string mask_dir;         // optional: <stem>_mask.png per defective
  std::string normal_test_dir;  // optional: defect-free images for test
  // Used when normal_test_dir is empty; must lie in (0, 1).
  double holdout_fraction = 0.2;
  std::uint64_t seed = 0;
};

Dataset load_folder(const FolderLayout& layout);

// Sorted paths of the image files directly inside `dir` (not recursive).
// Throws vigil::Error if `dir` does not exist or is not a folder.
std::vector<std::string> list_images(const std::string& dir);

}  // namespace vigil
