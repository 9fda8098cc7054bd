// vigil predict: one JSON line per image, and a picture per image.
#include <filesystem>
#include <iostream>
#include <set>

#include <spdlog/spdlog.h>

#include "commands.h"
#include "vigil/dataset.h"
#include "vigil/detector.h"
#include "vigil/error.h"
#include "vigil/image_io.h"
#include "vigil/visualize.h"

namespace vigil::cli {
namespace {
namespace fs = std::filesystem;

struct PredictFlags {
  std::string model_path;
  std::string backbone;
  std::string input;
  std::string output;
  std::string visualization = "full";
  std::string mask_dir;
  int threads = 0;
};

// The ground-truth mask for an image, where one can be found: beside it,
// in --masks, or in an MVTec tree (test/<type>/x.png ->
// ground_truth/<type>/x_mask.png).
std::string find_mask(const fs::path& image, const std::string& mask_dir) {
  std::string name = image.stem().string() + "_mask.png";
  std::vector<fs::path> candidates = {image.parent_path() / name};
  if (!mask_dir.empty()) candidates.push_back(fs::path(mask_dir) / name);
  fs::path type_dir = image.parent_path();
  candidates.push_back(type_dir.parent_path().parent_path() / "ground_truth" /
                       type_dir.filename() / name);
  for (const fs::path& candidate : candidates) {
    if (fs::is_regular_file(candidate)) return candidate.string();
  }
  return "";
}

std::vector<std::string> inputs_of(const std::string& input) {
  if (fs::is_directory(input)) {
    std::vector<std::string> images = list_images(input);
    if (images.empty()) throw Error(input, "folder holds no image");
    return images;
  }
  if (!fs::exists(input)) throw Error(input, "no such file or folder");
  return {input};
}

// <output>/<input's folder name>/<stem>.png; <name>.<ext>.png when an
// earlier image of this run took that name (a.jpg and a.png side by side).
std::string picture_path(const PredictFlags& f, const std::string& path,
                         std::set<std::string>* taken) {
  const fs::path input(path);
  const fs::path folder = fs::path(f.output) / input.parent_path().filename();
  std::string picture = (folder / input.stem()).string() + ".png";
  if (!taken->insert(picture).second) {
    picture = (folder / input.filename()).string() + ".png";
    taken->insert(picture);
  }
  return picture;
}

// Writes the picture of one image; returns its path, "" when none is made.
std::string write_picture(const PredictFlags& f, const std::string& path,
                          const cv::Mat& rgb, const Verdict& v,
                          std::set<std::string>* taken) {
  if (f.visualization == "none" || f.output.empty()) return "";
  cv::Mat picture;
  if (f.visualization == "simple") {
    picture = visualize_simple(rgb, v.anomaly_map, v.pred_mask, v.pred_score,
                               v.pred_label);
  } else {
    std::string mask_path = find_mask(path, f.mask_dir);
    cv::Mat mask =
        mask_path.empty() ? cv::Mat() : read_mask(mask_path, rgb.size());
    picture = visualize_full(rgb, mask, v.anomaly_map, v.pred_mask,
                             v.pred_score, v.pred_label);
  }
  std::string picture_file = picture_path(f, path, taken);
  write_image(picture_file, picture);
  return picture_file;
}

void run_predict(const PredictFlags& f) {
  auto detector = Detector::open(f.model_path, {f.backbone, f.threads});
  int failures = 0;
  std::set<std::string> taken;
  for (const std::string& path : inputs_of(f.input)) {
    try {
      cv::Mat rgb = read_image(path);
      Verdict v = detector->predict(rgb);
      nlohmann::json line = {{"path", path},
                             {"pred_score", v.pred_score},
                             {"pred_label", v.pred_label ? 1 : 0},
                             {"raw_score", v.raw_score},
                             {"latency_ms", v.timings.total_ms}};
      try {  // a picture that fails (a bad mask) keeps the verdict
        std::string picture = write_picture(f, path, rgb, v, &taken);
        if (!picture.empty()) line["picture"] = picture;
      } catch (const Error& e) {
        spdlog::error("{}", e.what());
        ++failures;
      }
      std::cout << line.dump() << std::endl;
    } catch (const Error& e) {
      // One bad image in a folder must not stop the rest.
      spdlog::error("{}", e.what());
      ++failures;
    }
  }
  if (failures > 0) {
    throw Error(f.input, std::to_string(failures) + " image(s) failed");
  }
}

}  // namespace

void add_predict_command(CLI::App& app) {
  auto flags = std::make_shared<PredictFlags>();
  CLI::App* c = app.add_subcommand("predict", "score images");
  c->add_option("--model", flags->model_path, "trained model file")->required();
  c->add_option("--backbone", flags->backbone,
                "backbone file, when it moved since training");
  c->add_option("--input", flags->input, "an image or a folder of images")
      ->required();
  c->add_option("--output", flags->output, "folder for the pictures");
  c->add_option("--visualization", flags->visualization,
                "full (image, ground truth, heat map, mask, segmentation), "
                "simple (heat map over the image) or none")
      ->check(CLI::IsMember({"full", "simple", "none"}))
      ->capture_default_str();
  c->add_option("--masks", flags->mask_dir,
                "folder of <stem>_mask.png ground truth for full pictures");
  c->add_option("--threads", flags->threads, "inference threads (0: all)");
  c->callback([flags] { run_predict(*flags); });
}

}  // namespace vigil::cli
