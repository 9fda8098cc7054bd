#include "service/service_support.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <thread>

#include "support/test_support.h"
#include "vigil/image_io.h"
#include "vigil/training.h"

namespace vigil::testing {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> sorted_files(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

LoadedModel train_tiny() {
  fs::path shared = shared_dir();
  std::vector<fs::path> good =
      sorted_files(shared / "datasets" / "magnetic_tile" / "train" / "good");
  std::vector<std::string> paths;
  for (int i = 0; i < 8; ++i) paths.push_back(good[i].string());

  TrainRequest request;
  request.type = "padim";
  request.backbone = {
      (shared / "backbones" / "mobilenetv2-fp32-dequantized.onnx").string(),
      {"365", "426"},
      1};
  request.preprocess.resize_height = request.preprocess.height = 128;
  request.preprocess.resize_width = request.preprocess.width = 128;
  request.options = {{"n_features", 20}};
  TrainingSet normal = load_training_set(paths, request.preprocess);

  LoadedModel trained;
  trained.model = train_model(request, normal);
  trained.info.type = request.type;
  trained.info.name = "tiny-padim";
  trained.info.version = "test-1";
  trained.info.preprocess = request.preprocess;
  trained.info.backbone = request.backbone;
  trained.info.backbone_sha256 = trained.model->backbone()->sha256();
  return trained;
}

// Threshold at the median raw score of 12 samples, so that half of them
// are anomalous; min and max from the same scores.
void calibrate_on_samples(Detector& detector) {
  std::vector<cv::Mat> images;
  for (const fs::path& path : sample_images(12)) {
    images.push_back(read_image(path.string()));
  }
  RawOutput raw = detector.score_raw(images);
  std::vector<float> scores = raw.image_scores;
  std::sort(scores.begin(), scores.end());
  auto [map_min, map_max] =
      std::minmax_element(raw.anomaly_maps.begin(), raw.anomaly_maps.end());

  Calibration& c = detector.mutable_info().calibration;
  c.image_threshold = 0.5f * (scores[5] + scores[6]);
  c.image_min = scores.front();
  c.image_max = scores.back();
  c.pixel_min = *map_min;
  c.pixel_max = *map_max;
  c.pixel_threshold = 0.5f * (*map_min + *map_max);
}

}  // namespace

std::vector<fs::path> sample_images(int n) {
  fs::path test = shared_dir() / "datasets" / "magnetic_tile" / "test";
  std::vector<fs::path> good = sorted_files(test / "good");
  std::vector<fs::path> bad = sorted_files(test / "blowhole");
  std::vector<fs::path> samples;
  for (int i = 0; int(samples.size()) < n; ++i) {
    samples.push_back(good.at(std::size_t(i)));
    if (int(samples.size()) < n) samples.push_back(bad.at(std::size_t(i)));
  }
  return samples;
}

const std::string& tiny_model_path() {
  // Removed at exit, after every test, so no run leaves it in /tmp.
  static TempDir dir;
  static const std::string path = [] {
    LoadedModel trained = train_tiny();
    std::string file = (dir / "tiny-padim.vigil").string();
    save_model(file, *trained.model, trained.info);
    auto detector = Detector::open(file);
    calibrate_on_samples(*detector);
    save_model(file, detector->model(), detector->info());
    return file;
  }();
  return path;
}

service::ServiceConfig test_config(const ReductServer& server,
                                   const fs::path& spool_dir,
                                   const std::string& token) {
  service::ServiceConfig c;
  c.model_path = tiny_model_path();
  c.http.port = 0;
  c.http.token = token;
  c.storage.url = server.url();
  c.storage.token = server.api_token();
  c.spool.dir = spool_dir.string();
  c.spool.drain_timeout_ms = 5000;
  c.pipeline.model_threads = 1;
  return c;
}

bool wait_until(const std::function<bool()>& condition, int guard_s) {
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(guard_s);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

}  // namespace vigil::testing
