// The model file: tensors round-trip; a trained model scores the same after
// reloading; a different backbone is refused.
#include <cmath>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "common/sha256.h"
#include "support/test_support.h"
#include "vigil/detector.h"
#include "vigil/error.h"
#include "vigil/image_io.h"
#include "vigil/training.h"

namespace vigil {
namespace {
namespace fs = std::filesystem;

TEST(TensorFile, RoundTripsTensorsAndMetadata) {
  testing::TempDir dir;
  TensorFile file;
  std::vector<float> a = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f, 8.0f};
  std::vector<std::int64_t> b = {-1, 2, 1LL << 40};
  file.put("a", {2, 3}, a.data());
  file.put("b", {3}, b.data());
  file.metadata["note"] = "hello";
  file.save((dir / "t.safetensors").string());

  TensorFile read = TensorFile::load((dir / "t.safetensors").string());
  const float* ra = read.f32("a", {2, 3});
  EXPECT_EQ(std::vector<float>(ra, ra + 6), a);
  const std::int64_t* rb = read.i64("b", {3});
  EXPECT_EQ(std::vector<std::int64_t>(rb, rb + 3), b);
  EXPECT_EQ(read.metadata.at("note"), "hello");
  EXPECT_THROW(read.f32("a", {3, 2}), Error);
  EXPECT_THROW(read.f32("b"), Error);
  EXPECT_THROW(read.get("missing"), Error);
}

// load()'s error message, "" when it loads.
std::string error_of(const std::string& path) {
  try {
    TensorFile::load(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// A file of one float tensor "a" of `n` copies of `value`; its path.
std::string saved_floats(const testing::TempDir& dir, int n, float value) {
  TensorFile file;
  std::vector<float> a(std::size_t(n), value);
  file.put("a", {n}, a.data());
  std::string path = (dir / "t.safetensors").string();
  file.save(path);
  return path;
}

TEST(TensorFile, TruncatedFileIsAnErrorNamingIt) {
  testing::TempDir dir;
  std::string path = saved_floats(dir, 1000, 1.0f);
  fs::resize_file(path, fs::file_size(path) - 100);
  std::string what = error_of(path);
  EXPECT_NE(what.find(path), std::string::npos) << what;
}

// FIPS 180-2's example: SHA-256("abc").
TEST(Sha256, MatchesTheStandardsExampleInPieces) {
  const std::string expected =
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  EXPECT_EQ(hex_sha256("abc"), expected);
  Sha256 h;
  h.add("a", 1);
  h.add("bc", 2);
  EXPECT_EQ(h.hex(), expected);
}

TEST(TensorFile, AlteredDataIsRefusedByItsChecksum) {
  testing::TempDir dir;
  std::string path = saved_floats(dir, 100, 0.25f);
  EXPECT_EQ(TensorFile::load(path).metadata.count("vigil_data_sha256"), 0u);
  {  // 0.25f is 0x3e800000; one changed byte keeps it finite
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-1, std::ios::end);
    f.put(char(0x3f));
  }
  std::string what = error_of(path);
  EXPECT_NE(what.find(path), std::string::npos) << what;
  EXPECT_NE(what.find("checksum"), std::string::npos) << what;
}

// A safetensors file as Python's save_file writes it (no checksum) with a
// NaN in a float tensor: refused, since it would make every score NaN.
TEST(TensorFile, NanInAFloatTensorIsRefused) {
  testing::TempDir dir;
  std::string path = (dir / "nan.safetensors").string();
  std::string header =
      R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  std::uint64_t size = header.size();
  float values[2] = {1.0f, std::nanf("")};
  {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(&size), 8);
    out << header;
    out.write(reinterpret_cast<const char*>(values), sizeof(values));
  }
  std::string what = error_of(path);
  EXPECT_NE(what.find(path), std::string::npos) << what;
  EXPECT_NE(what.find("tensor 'w' holds NaN"), std::string::npos) << what;
  values[1] = 2.0f;
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(8 + std::streamoff(size));
    f.write(reinterpret_cast<const char*>(values), sizeof(values));
  }
  EXPECT_EQ(error_of(path), "");
}

class TrainedModelFile : public ::testing::TestWithParam<std::string> {};

TEST_P(TrainedModelFile, ScoresTheSameAfterReloading) {
  fs::path shared = testing::shared_dir();
  fs::path good = shared / "datasets" / "magnetic_tile" / "train" / "good";
  std::vector<std::string> paths;
  for (const auto& entry : fs::directory_iterator(good)) {
    paths.push_back(entry.path().string());
  }
  std::sort(paths.begin(), paths.end());
  paths.resize(6);

  TrainRequest request;
  request.type = GetParam();
  request.backbone = {
      (shared / "backbones" / "mobilenetv2-fp32-dequantized.onnx").string(),
      {"365", "426"},
      1};
  request.preprocess.resize_height = request.preprocess.height = 128;
  request.preprocess.resize_width = request.preprocess.width = 128;
  request.options = request.type == "patchcore"
                        ? nlohmann::json{{"coreset_ratio", 0.5}}
                        : nlohmann::json{{"n_features", 20}};
  TrainingSet normal = load_training_set(paths, request.preprocess);
  LoadedModel trained;
  trained.model = train_model(request, normal);
  trained.info.type = request.type;
  trained.info.preprocess = request.preprocess;
  trained.info.backbone = request.backbone;
  trained.info.backbone_sha256 = trained.model->backbone()->sha256();
  trained.info.calibration.image_threshold = 1.0f;

  testing::TempDir dir;
  std::string path = (dir / "m.vigil").string();
  save_model(path, *trained.model, trained.info);
  Detector before(std::move(trained));
  auto after = Detector::open(path);

  std::vector<cv::Mat> images = {read_image(paths[0]), read_image(paths[5])};
  RawOutput a = before.score_raw(images);
  RawOutput b = after->score_raw(images);
  ASSERT_EQ(a.anomaly_maps.size(), b.anomaly_maps.size());
  for (std::size_t i = 0; i < a.anomaly_maps.size(); ++i) {
    ASSERT_NEAR(a.anomaly_maps[i], b.anomaly_maps[i], 1e-6);
  }
  for (int i = 0; i < 2; ++i) {
    EXPECT_NEAR(a.image_scores[i], b.image_scores[i], 1e-6);
  }
  EXPECT_EQ(after->info().type, GetParam());

  // Another file in the backbone's place is refused, naming it.
  std::string other = (dir / "other.onnx").string();
  fs::copy_file(shared / "backbones" /
                    "coral_tf2_mobilenet_v2_1.0_224_fp32_dequantized.onnx",
                other);
  try {
    Detector::open(path, {other, 1});
    FAIL() << "expected vigil::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("SHA-256"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find(other), std::string::npos);
  }
}

INSTANTIATE_TEST_SUITE_P(Models, TrainedModelFile,
                         ::testing::Values("patchcore", "padim"));

}  // namespace
}  // namespace vigil
