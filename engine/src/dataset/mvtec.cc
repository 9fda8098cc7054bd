#include <algorithm>
#include <filesystem>
#include <set>

#include <spdlog/spdlog.h>

#include "dataset/masks.h"
#include "vigil/dataset.h"
#include "vigil/error.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;
using dataset_detail::defective_sample;
using dataset_detail::normal_sample;

constexpr const char* kGood = "good";

void require_folder(const fs::path& dir) {
  std::error_code error;
  if (!fs::exists(dir, error)) throw Error(dir.string(), "no such folder");
  if (!fs::is_directory(dir, error)) throw Error(dir.string(), "not a folder");
}

std::vector<std::string> sorted_subfolders(const fs::path& dir) {
  std::vector<std::string> names;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    if (entry.is_directory() && !name.empty() && name[0] != '.') {
      names.push_back(name);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<Sample> load_train(const fs::path& root) {
  fs::path dir = root / "train" / kGood;
  std::vector<Sample> train;
  for (const std::string& path : list_images(dir.string())) {
    train.push_back(normal_sample(path));
  }
  if (train.empty()) throw Error(dir.string(), "no images");
  return train;
}

std::vector<Sample> load_test(const fs::path& root) {
  fs::path test_dir = root / "test";
  require_folder(test_dir);
  std::vector<Sample> test;
  for (const std::string& type : sorted_subfolders(test_dir)) {
    std::string mask_dir = (root / "ground_truth" / type).string();
    for (const std::string& path : list_images((test_dir / type).string())) {
      test.push_back(type == kGood ? normal_sample(path)
                                   : defective_sample(path, mask_dir, type));
    }
  }
  if (test.empty()) throw Error(test_dir.string(), "no images");
  return test;
}

// A mask with no image is harmless (the image may have been excluded on
// purpose), so it is only reported at debug level.
void log_orphan_masks(const fs::path& root, const std::vector<Sample>& test) {
  fs::path gt_dir = root / "ground_truth";
  std::error_code error;
  if (!fs::is_directory(gt_dir, error)) return;
  std::set<std::string> used;
  for (const Sample& s : test) used.insert(s.mask_path);
  for (const std::string& type : sorted_subfolders(gt_dir)) {
    for (const std::string& mask : list_images((gt_dir / type).string())) {
      if (used.count(mask) == 0) {
        spdlog::debug("{}: mask has no matching test image; ignored", mask);
      }
    }
  }
}

}  // namespace

Dataset load_mvtec(const std::string& root) {
  require_folder(root);
  Dataset dataset;
  dataset.root = root;
  dataset.train = load_train(root);
  dataset.test = load_test(root);
  log_orphan_masks(root, dataset.test);

  std::size_t defective = 0, masked = 0;
  for (const Sample& s : dataset.test) {
    defective += s.is_anomalous;
    masked += !s.mask_path.empty();
  }
  spdlog::info("{}: {} train images, {} test images ({} defective, {} masks)",
               root, dataset.train.size(), dataset.test.size(), defective,
               masked);
  return dataset;
}

}  // namespace vigil
