#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>

#include <spdlog/spdlog.h>

#include "dataset/masks.h"
#include "vigil/dataset.h"
#include "vigil/error.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;
using dataset_detail::defective_sample;
using dataset_detail::normal_sample;

// Fisher-Yates written out rather than std::shuffle, whose algorithm the
// standard leaves to each library: the same seed must pick the same
// held-out images with libstdc++ and libc++.
void shuffle(std::vector<std::string>& paths, std::uint64_t seed) {
  std::mt19937_64 engine(seed);
  for (std::size_t i = paths.size(); i > 1; --i) {
    std::size_t j = std::size_t(engine() % i);
    std::swap(paths[i - 1], paths[j]);
  }
}

// At least one image stays for training and, with two or more, at least
// one is held out, whatever the fraction rounds to.
std::size_t holdout_count(std::size_t n, double fraction) {
  if (n < 2) return 0;
  auto count = std::size_t(std::llround(fraction * double(n)));
  return std::clamp<std::size_t>(count, 1, n - 1);
}

void split_normals(const FolderLayout& layout, std::vector<std::string> normals,
                   Dataset& dataset) {
  if (!(layout.holdout_fraction > 0.0 && layout.holdout_fraction < 1.0)) {
    throw Error("holdout_fraction",
                "must be between 0 and 1 (exclusive), got " +
                    std::to_string(layout.holdout_fraction));
  }
  shuffle(normals, layout.seed);
  std::size_t held = holdout_count(normals.size(), layout.holdout_fraction);
  std::vector<std::string> test(normals.begin(), normals.begin() + held);
  std::vector<std::string> train(normals.begin() + held, normals.end());
  std::sort(test.begin(), test.end());
  std::sort(train.begin(), train.end());
  for (const std::string& path : train) {
    dataset.train.push_back(normal_sample(path));
  }
  for (const std::string& path : test) {
    dataset.test.push_back(normal_sample(path));
  }
}

std::string folder_name(const std::string& dir) {
  fs::path path = fs::path(dir).lexically_normal();
  std::string name = path.filename().string();
  if (name.empty()) name = path.parent_path().filename().string();
  return name.empty() ? "abnormal" : name;
}

void add_abnormal(const FolderLayout& layout, Dataset& dataset) {
  if (layout.abnormal_dir.empty()) return;
  std::vector<std::string> paths = list_images(layout.abnormal_dir);
  if (layout.mask_dir.empty()) {
    spdlog::warn(
        "{}: no mask folder given; defective images count for the "
        "image metrics only",
        layout.abnormal_dir);
  } else {
    list_images(layout.mask_dir);  // throws if the folder is missing
  }

  std::string type = folder_name(layout.abnormal_dir);
  for (const std::string& path : paths) {
    dataset.test.push_back(defective_sample(path, layout.mask_dir, type));
  }
}

}  // namespace

Dataset load_folder(const FolderLayout& layout) {
  if (layout.normal_dir.empty()) {
    throw Error("normal_dir", "a folder of normal images is required");
  }
  std::vector<std::string> normals = list_images(layout.normal_dir);
  if (normals.empty()) throw Error(layout.normal_dir, "no images");

  Dataset dataset;
  dataset.root = layout.normal_dir;
  if (layout.normal_test_dir.empty()) {
    split_normals(layout, std::move(normals), dataset);
  } else {
    for (const std::string& path : normals) {
      dataset.train.push_back(normal_sample(path));
    }
    for (const std::string& path : list_images(layout.normal_test_dir)) {
      dataset.test.push_back(normal_sample(path));
    }
  }
  add_abnormal(layout, dataset);

  spdlog::info("{}: {} train images, {} test images", layout.normal_dir,
               dataset.train.size(), dataset.test.size());
  return dataset;
}

}  // namespace vigil
