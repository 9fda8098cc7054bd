#include "dataset_flags.h"

#include <filesystem>

#include "vigil/error.h"

namespace vigil::cli {
namespace fs = std::filesystem;

void DatasetFlags::add_to(CLI::App& command) {
  command.add_option("--dataset", root, "dataset folder")->required();
  command
      .add_option("--format", format,
                  "mvtec (train/good, test/<type>, ground_truth/) or "
                  "folder (normal/, abnormal/, masks/, normal_test/); "
                  "auto picks mvtec when train/good exists")
      ->check(CLI::IsMember({"auto", "mvtec", "folder"}))
      ->capture_default_str();
  command
      .add_option("--normal-dir", normal_dir,
                  "folder layout: defect-free images, under --dataset")
      ->capture_default_str();
  command
      .add_option("--abnormal-dir", abnormal_dir,
                  "folder layout: defective images")
      ->capture_default_str();
  command
      .add_option("--mask-dir", mask_dir,
                  "folder layout: <stem>_mask.png, white = defect")
      ->capture_default_str();
  command
      .add_option("--normal-test-dir", normal_test_dir,
                  "folder layout: defect-free test images; when absent, "
                  "--holdout of the normal images is held out")
      ->capture_default_str();
  command
      .add_option("--holdout", holdout_fraction,
                  "fraction of normal images held out for validation")
      ->check(CLI::Range(0.01, 0.9))
      ->capture_default_str();
}

Dataset DatasetFlags::load() const {
  if (!fs::is_directory(root)) {
    throw Error(root, "dataset folder does not exist");
  }
  bool mvtec =
      format == "mvtec" ||
      (format == "auto" && fs::is_directory(fs::path(root) / "train" / "good"));
  if (mvtec) return load_mvtec(root);

  auto under = [&](const std::string& name) {
    fs::path path = fs::path(root) / name;
    return fs::exists(path) ? path.string() : std::string();
  };
  FolderLayout layout;
  layout.normal_dir = (fs::path(root) / normal_dir).string();
  layout.abnormal_dir = under(abnormal_dir);
  layout.mask_dir = under(mask_dir);
  layout.normal_test_dir = under(normal_test_dir);
  layout.holdout_fraction = holdout_fraction;
  layout.seed = seed;
  return load_folder(layout);
}

}  // namespace vigil::cli
