// The exported ONNX file (vigil/export.h) against the native model: real
// images scored by the native model, by the export on ONNX Runtime from C++
// (directly, and through the Detector as `vigil predict` runs it), and by
// PyPI's onnxruntime and openvino (tools/parity_check.py) agree to 1e-4 in
// maps and scores and on every label.
#include <algorithm>
#include <cmath>
#include <filesystem>

#include <gtest/gtest.h>

#include "export/onnx_model.h"
#include "parity/npy_writer.h"
#include "support/test_support.h"
#include "vigil/detector.h"
#include "vigil/error.h"
#include "vigil/export.h"
#include "vigil/image_io.h"
#include "vigil/training.h"

namespace vigil {
namespace {
namespace fs = std::filesystem;

constexpr float kTolerance = 1e-4f;

struct ParityCase {
  std::string name;
  std::string type;
  nlohmann::json options;
  std::vector<std::string> layers;
  int resize_height, resize_width, height, width;
  bool bgr;
};

// Names the case in test listings instead of dumping its bytes.
void PrintTo(const ParityCase& c, std::ostream* os) { *os << c.name; }

fs::path dataset() {
  return testing::shared_dir() / "datasets" / "magnetic_tile";
}

std::vector<std::string> first_images(const fs::path& folder, int count) {
  std::vector<std::string> paths;
  for (const auto& entry : fs::directory_iterator(folder)) {
    paths.push_back(entry.path().string());
  }
  std::sort(paths.begin(), paths.end());
  paths.resize(std::min<std::size_t>(count, paths.size()));
  return paths;
}

// Three normal and three defective test images.
std::vector<cv::Mat> test_images() {
  std::vector<std::string> paths = first_images(dataset() / "test/good", 3);
  for (const char* defect : {"crack", "blowhole", "break"}) {
    paths.push_back(first_images(dataset() / "test" / defect, 1)[0]);
  }
  std::vector<cv::Mat> images;
  for (const std::string& path : paths) images.push_back(read_image(path));
  return images;
}

LoadedModel train(const ParityCase& c) {
  TrainRequest request;
  request.type = c.type;
  if (!c.layers.empty()) {
    request.backbone = {(testing::shared_dir() / "backbones" /
                         "mobilenetv2-fp32-dequantized.onnx")
                            .string(),
                        c.layers, 1};
  }
  request.preprocess.resize_height = c.resize_height;
  request.preprocess.resize_width = c.resize_width;
  request.preprocess.height = c.height;
  request.preprocess.width = c.width;
  request.preprocess.bgr = c.bgr;
  request.options = c.options;
  TrainingSet normal = load_training_set(
      first_images(dataset() / "train/good", 8), request.preprocess);
  LoadedModel loaded;
  loaded.model = train_model(request, normal);
  loaded.info.type = c.type;
  loaded.info.name = c.name;
  loaded.info.preprocess = request.preprocess;
  loaded.info.backbone = request.backbone;
  if (const Backbone* backbone = loaded.model->backbone()) {
    loaded.info.backbone_sha256 = backbone->sha256();
  }
  return loaded;
}

RawOutput score_native(const LoadedModel& m, const std::vector<cv::Mat>& rgb) {
  const Preprocess& p = m.info.preprocess;
  std::vector<float> batch(rgb.size() * p.tensor_size());
  for (std::size_t i = 0; i < rgb.size(); ++i) {
    preprocess(rgb[i], p, batch.data() + i * p.tensor_size());
  }
  return m.model->score(batch.data(), rgb.size(), p.height, p.width);
}

// Midway between two observed values, never on one, so that no label sits
// on the edge at 0.5; both labels occur among images and pixels.
Calibration calibration_for(const RawOutput& raw) {
  std::vector<float> scores = raw.image_scores;
  std::sort(scores.begin(), scores.end());
  std::vector<float> pixels = raw.anomaly_maps;
  std::sort(pixels.begin(), pixels.end());
  std::size_t at = pixels.size() * 95 / 100;
  Calibration c;
  c.image_threshold = (scores[2] + scores[3]) / 2;
  c.image_min = scores.front();
  c.image_max = scores.back();
  c.pixel_threshold = (pixels[at] + pixels[at + 1]) / 2;
  c.pixel_min = pixels.front();
  c.pixel_max = pixels.back();
  return c;
}

struct Normalized {
  std::vector<float> maps, scores;
};

Normalized normalize(const RawOutput& raw, const Calibration& c) {
  Normalized out;
  for (float v : raw.anomaly_maps) out.maps.push_back(c.normalize_pixel(v));
  for (float v : raw.image_scores) out.scores.push_back(c.normalize_image(v));
  return out;
}

// The 0..255 RGB crops the exported graph takes.
std::vector<float> crops(const std::vector<cv::Mat>& rgb, Preprocess p) {
  p.scale = 1.0f, p.mean = {0, 0, 0}, p.std = {1, 1, 1}, p.bgr = false;
  std::vector<float> out(rgb.size() * p.tensor_size());
  for (std::size_t i = 0; i < rgb.size(); ++i) {
    preprocess(rgb[i], p, out.data() + i * p.tensor_size());
  }
  return out;
}

// Relative to magnitudes above 1 (raw scores are unbounded).
float max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float worst = 0.0f;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    float scale = std::max(1.0f, std::abs(b[i]));
    worst = std::max(worst, std::abs(a[i] - b[i]) / scale);
  }
  return worst;
}

void expect_same_labels(const std::vector<float>& a,
                        const std::vector<float>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i] >= 0.5f, b[i] >= 0.5f) << "image " << i;
  }
}

void expect_cpp_runtime_agrees(const std::string& onnx_path,
                               const std::vector<float>& pixels,
                               const Preprocess& p, const RawOutput& native,
                               const Normalized& expected) {
  ExportedGraph graph(onnx_path, 1);
  ExportedOutputs ort = graph.run(pixels.data(), native.n, p.height, p.width);
  float map = max_diff(ort.anomaly_maps, expected.maps);
  float score = max_diff(ort.pred_scores, expected.scores);
  float raw = max_diff(ort.raw_scores, native.image_scores);
  float raw_map = max_diff(ort.raw_anomaly_maps, native.anomaly_maps);
  EXPECT_LE(map, kTolerance);
  EXPECT_LE(score, kTolerance);
  EXPECT_LE(raw, kTolerance);
  EXPECT_LE(raw_map, kTolerance);
  expect_same_labels(ort.pred_scores, expected.scores);
  std::printf(
      "onnxruntime C++: max diff map %.3g, pred_score %.3g, "
      "raw_score %.3g (relative), raw map %.3g (relative)\n",
      map, score, raw, raw_map);
}

// The Detector on the file, as `vigil predict` runs it, at the original
// image sizes.
void expect_detectors_agree(LoadedModel native_model,
                            const std::string& onnx_path,
                            const std::vector<cv::Mat>& rgb) {
  Detector native(std::move(native_model));
  auto exported = Detector::open(onnx_path, {"", 1});
  std::vector<Verdict> a = native.predict_batch(rgb);
  std::vector<Verdict> b = exported->predict_batch(rgb);
  float worst_map = 0.0f;
  for (std::size_t i = 0; i < rgb.size(); ++i) {
    EXPECT_NEAR(a[i].pred_score, b[i].pred_score, kTolerance);
    EXPECT_EQ(a[i].pred_label, b[i].pred_label) << "image " << i;
    EXPECT_NEAR(a[i].raw_score, b[i].raw_score,
                kTolerance * std::max(1.0f, std::abs(a[i].raw_score)));
    ASSERT_EQ(a[i].anomaly_map.size(), b[i].anomaly_map.size());
    worst_map = std::max(
        worst_map,
        float(cv::norm(a[i].anomaly_map, b[i].anomaly_map, cv::NORM_INF)));
  }
  EXPECT_LE(worst_map, kTolerance);
  std::printf("Detector on the file: max map diff %.3g\n", worst_map);
}

void expect_python_runtimes_agree(const testing::TempDir& dir,
                                  const std::string& onnx_path,
                                  const std::vector<float>& pixels,
                                  const Preprocess& p, const RawOutput& native,
                                  const Normalized& expected) {
  const std::int64_t n = native.n, h = p.height, w = p.width;
  testing::write_npy(dir / "images.npy", {n, 3, h, w}, pixels.data());
  testing::write_npy(dir / "anomaly_map.npy", {n, 1, h, w},
                     expected.maps.data());
  testing::write_npy(dir / "pred_score.npy", {n}, expected.scores.data());
  testing::write_npy(dir / "raw_score.npy", {n}, native.image_scores.data());
  std::string command =
      testing::python() + " " +
      (testing::source_dir() / "tools" / "parity_check.py").string() + " " +
      onnx_path + " " + dir.path().string() + " --tolerance " +
      std::to_string(kTolerance) + " 2>&1";
  std::string output;
  int status = testing::run_command(command, &output);
  std::printf("%s", output.c_str());
  EXPECT_EQ(status, 0) << output;
}

// A few optimiser steps: parity needs trained weights, not good ones.
const nlohmann::json kQuickFastFlow = {
    {"flow_steps", 2}, {"steps", 4},   {"batch_size", 4},
    {"patience", 0},   {"threads", 1}, {"deterministic", true}};
const nlohmann::json kQuickEfficientAd = {
    {"teacher", "random"}, {"teacher_channels", 32}, {"steps", 1},
    {"batch_size", 1},     {"threads", 1},           {"deterministic", true}};

nlohmann::json with(nlohmann::json options, const nlohmann::json& more) {
  options.update(more);
  return options;
}

class ExportParity : public ::testing::TestWithParam<ParityCase> {};

bool registered(const std::string& type) {
  std::vector<std::string> types = registered_model_types();
  return std::find(types.begin(), types.end(), type) != types.end();
}

TEST_P(ExportParity, EveryRuntimeScoresAsTheNativeModel) {
  const ParityCase& c = GetParam();
  if (!registered(c.type)) {
    GTEST_SKIP() << c.type << " is not built into this engine";
  }
  std::vector<cv::Mat> rgb = test_images();
  LoadedModel model = train(c);
  RawOutput native = score_native(model, rgb);
  model.info.calibration = calibration_for(native);
  Normalized expected = normalize(native, model.info.calibration);
  for (float s : expected.scores) ASSERT_GT(std::abs(s - 0.5f), kTolerance);

  testing::TempDir dir;
  std::string onnx_path = (dir / "model.onnx").string();
  export_onnx(model, onnx_path);
  const Preprocess p = model.info.preprocess;
  std::vector<float> pixels = crops(rgb, p);

  expect_cpp_runtime_agrees(onnx_path, pixels, p, native, expected);
  expect_python_runtimes_agree(dir, onnx_path, pixels, p, native, expected);
  expect_detectors_agree(std::move(model), onnx_path, rgb);
}

// Awkward sizes (not multiples of the backbone's stride) make the deeper
// taps' upsampling factors non-integer, and the maps non-square.
INSTANTIATE_TEST_SUITE_P(Models, ExportParity,
                         ::testing::Values(ParityCase{"patchcore",
                                                      "patchcore",
                                                      {{"coreset_ratio", 0.1}},
                                                      {"365", "426"},
                                                      144,
                                                      144,
                                                      128,
                                                      128,
                                                      false},
                                           ParityCase{"patchcore_awkward",
                                                      "patchcore",
                                                      {{"coreset_ratio", 0.1},
                                                       {"num_neighbors", 3},
                                                       {"sigma", 2.0}},
                                                      {"339", "365"},
                                                      110,
                                                      90,
                                                      100,
                                                      76,
                                                      true},
                                           ParityCase{"padim",
                                                      "padim",
                                                      {{"n_features", 20}},
                                                      {"339", "365", "426"},
                                                      144,
                                                      144,
                                                      128,
                                                      128,
                                                      false},
                                           ParityCase{"padim_awkward",
                                                      "padim",
                                                      {{"n_features", 20}},
                                                      {"339", "365", "426"},
                                                      110,
                                                      90,
                                                      100,
                                                      76,
                                                      true},
                                           ParityCase{"fastflow",
                                                      "fastflow",
                                                      kQuickFastFlow,
                                                      {"339", "365"},
                                                      144,
                                                      144,
                                                      128,
                                                      128,
                                                      false},
                                           ParityCase{"fastflow_awkward",
                                                      "fastflow",
                                                      kQuickFastFlow,
                                                      {"339", "365", "426"},
                                                      110,
                                                      90,
                                                      100,
                                                      76,
                                                      true},
                                           ParityCase{"efficientad",
                                                      "efficientad",
                                                      kQuickEfficientAd,
                                                      {},
                                                      110,
                                                      100,
                                                      96,
                                                      88,
                                                      false},
                                           ParityCase{"efficientad_padded",
                                                      "efficientad",
                                                      with(kQuickEfficientAd,
                                                           {{"padding", true}}),
                                                      {},
                                                      72,
                                                      72,
                                                      64,
                                                      64,
                                                      true}),
                         [](const ::testing::TestParamInfo<ParityCase>& info) {
                           return info.param.name;
                         });

// The nearest sound alternative for a model trained with approximate
// search: its file scores as the same memory bank searched exactly (the
// coreset does not depend on the search, so both banks are the same).
TEST(Export, ApproximateSearchExportsAsExactSearch) {
  ParityCase exact{"exact", "patchcore", {{"coreset_ratio", 0.5}},
                   {"365"}, 64,          64,
                   64,      64,          false};
  ParityCase hnsw = exact;
  hnsw.options["search"] = "hnsw";
  LoadedModel approximate = train(hnsw);
  testing::TempDir dir;
  std::string onnx_path = (dir / "hnsw.onnx").string();
  export_onnx(approximate, onnx_path);

  std::vector<cv::Mat> rgb = test_images();
  RawOutput native = score_native(train(exact), rgb);
  std::vector<float> pixels = crops(rgb, approximate.info.preprocess);
  ExportedOutputs ort =
      ExportedGraph(onnx_path, 1).run(pixels.data(), native.n, 64, 64);
  EXPECT_LE(max_diff(ort.raw_scores, native.image_scores), kTolerance);
  EXPECT_LE(max_diff(ort.raw_anomaly_maps, native.anomaly_maps), kTolerance);
}

class NamedModel : public Model {
 public:
  std::string type() const override { return "unexportable"; }
  RawOutput score(const float*, int, int, int, StageTimes*) const override {
    return {};
  }
  nlohmann::json config() const override { return nlohmann::json::object(); }
  void write_tensors(TensorFile&) const override {}
  const Backbone* backbone() const override { return nullptr; }
};

TEST(Export, RefusesATypeWithNoGraphNamingIt) {
  LoadedModel model;
  model.model = std::make_unique<NamedModel>();
  testing::TempDir dir;
  try {
    export_onnx(model, (dir / "x.onnx").string());
    FAIL() << "expected vigil::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unexportable"), std::string::npos);
  }
  EXPECT_FALSE(fs::exists(dir / "x.onnx"));
}

TEST(Export, AnUnwritablePathIsAnErrorNamingIt) {
  LoadedModel model = train(
      {"small", "padim", {{"n_features", 8}}, {"365"}, 64, 64, 64, 64, false});
  testing::TempDir dir;
  std::string path = (dir / "missing" / "x.onnx").string();
  try {
    export_onnx(model, path);
    FAIL() << "expected vigil::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
  }
}

}  // namespace
}  // namespace vigil
