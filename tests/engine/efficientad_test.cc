#include "vigil/efficientad.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <random>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "engine/reload_check.h"
#include "support/test_support.h"
#include "vigil/dataset.h"
#include "vigil/error.h"
#include "vigil/model.h"
#include "vigil/training.h"

namespace vigil {
namespace {

constexpr int kSize = 64;
constexpr int kChannels = 32;  // a narrow teacher keeps the tests fast

std::string mobilenet() {
  return (testing::shared_dir() / "backbones" /
          "mobilenetv2-fp32-dequantized.onnx")
      .string();
}

// n gray images of blobs at random places, preprocessed-like values.
TrainingSet blobs(int n, std::uint64_t seed) {
  TrainingSet set;
  set.n = n, set.height = kSize, set.width = kSize;
  set.images.resize(std::size_t(n) * 3 * kSize * kSize);
  std::mt19937 random(seed);
  std::uniform_real_distribution<float> where(8.0f, 56.0f);
  std::normal_distribution<float> noise(0.0f, 0.05f);
  for (int i = 0; i < n; ++i) {
    float cx = where(random), cy = where(random);
    for (int y = 0; y < kSize; ++y) {
      for (int x = 0; x < kSize; ++x) {
        float r2 = (x - cx) * (x - cx) + (y - cy) * (y - cy);
        float v = 1.5f * std::exp(-r2 / 60.0f) - 0.5f + noise(random);
        for (int c = 0; c < 3; ++c) {
          set.images[((std::size_t(i) * 3 + c) * kSize + y) * kSize + x] = v;
        }
      }
    }
  }
  return set;
}

TrainRequest request(nlohmann::json options, std::uint64_t seed = 3) {
  TrainRequest r;
  r.type = "efficientad";
  r.preprocess.resize_height = r.preprocess.height = kSize;
  r.preprocess.resize_width = r.preprocess.width = kSize;
  r.seed = seed;
  r.batch_size = 4;
  nlohmann::json quick = {{"teacher", "random"},
                          {"teacher_channels", kChannels},
                          {"batch_size", 2},
                          {"threads", 1},
                          {"deterministic", true}};
  quick.update(options);
  r.options = quick;
  return r;
}

std::unique_ptr<Model> train(const TrainRequest& r, const TrainingSet& set,
                             TrainingReport* report = nullptr) {
  return train_efficientad(r, set, nullptr, report);
}

TensorFile weights(const Model& model) {
  TensorFile file;
  model.write_tensors(file);
  return file;
}

bool same_tensors(const TensorFile& a, const TensorFile& b) {
  if (a.tensors.size() != b.tensors.size()) return false;
  for (const auto& [name, t] : a.tensors) {
    if (!b.has(name) || b.get(name).bytes != t.bytes) return false;
  }
  return true;
}

// Writes n 80 x 80 gray PNGs into `dir`: stripes of random angle, period
// and contrast, and a disc at a random place.
void write_images(const std::filesystem::path& dir, int n) {
  std::filesystem::create_directories(dir);
  std::mt19937 random(4);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (int i = 0; i < n; ++i) {
    double angle = 3.14 * u(random), period = 4 + 12 * u(random);
    double contrast = 40 + 80 * u(random);
    cv::Mat image(80, 80, CV_8UC1);
    for (int y = 0; y < 80; ++y) {
      for (int x = 0; x < 80; ++x) {
        double t = x * std::cos(angle) + y * std::sin(angle);
        image.at<std::uint8_t>(y, x) = cv::saturate_cast<std::uint8_t>(
            128 + contrast * std::sin(6.283 * t / period));
      }
    }
    cv::circle(image, {int(80 * u(random)), int(80 * u(random))}, 12, 255, -1);
    cv::imwrite((dir / ("image" + std::to_string(i) + ".png")).string(), image);
  }
}

// Quantile 0.75 of 0..9 is 6.75 (linear interpolation): 7, 8 and 9 are at
// or above it, mean 8.
TEST(EfficientAdLoss, HardFeatureLossByHand) {
  std::vector<float> d = {3, 9, 0, 6, 1, 8, 2, 7, 5, 4};
  EXPECT_FLOAT_EQ(hard_feature_loss(d.data(), d.size(), 0.75), 8.0f);
}

// Ties at the quantile count as hard: quantile 0.5 of {1, 1, 1, 1, 5} is 1,
// so all five count, mean 9 / 5.
TEST(EfficientAdLoss, HardFeatureLossKeepsTies) {
  std::vector<float> d = {1, 5, 1, 1, 1};
  EXPECT_FLOAT_EQ(hard_feature_loss(d.data(), d.size(), 0.5), 1.8f);
}

// The paper's 0.999 on 2000 values 1..2000: position 0.999 * 1999 =
// 1997.001, quantile 1998.001; only 1999 and 2000 count.
TEST(EfficientAdLoss, HardFeatureLossAtPaperQuantile) {
  std::vector<float> d(2000);
  std::iota(d.begin(), d.end(), 1.0f);
  EXPECT_FLOAT_EQ(hard_feature_loss(d.data(), d.size(), 0.999), 1999.5f);
}

// Values 0..999: qa = 0.9 * 999 = 899.1, qb = 0.995 * 999 = 994.005; they
// map to 0 and 0.1, and the rest linearly.
TEST(EfficientAdMaps, QuantileNormalisationAsInThePaper) {
  std::vector<float> values(1000);
  std::iota(values.begin(), values.end(), 0.0f);
  std::shuffle(values.begin(), values.end(), std::mt19937(1));
  MapQuantiles q = map_quantiles(values.data(), values.size(), 0.9, 0.995);
  EXPECT_NEAR(q.a, 899.1f, 1e-3);
  EXPECT_NEAR(q.b, 994.005f, 1e-3);

  std::vector<float> map = {899.1f, 994.005f, 0.0f};
  normalize_map(map.data(), map.size(), q);
  EXPECT_NEAR(map[0], 0.0f, 1e-6);
  EXPECT_NEAR(map[1], 0.1f, 1e-6);
  EXPECT_NEAR(map[2], -0.1f * 899.1f / 94.905f, 1e-5);
}

TEST(EfficientAdOptions, UnknownKeyAndMissingTeacherAreRejected) {
  try {
    efficientad_options_from_json({{"teacher", "random"}, {"stepz", 3}});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("stepz"), std::string::npos);
  }
  EXPECT_THROW(efficientad_options_from_json(nlohmann::json::object()), Error);
  EXPECT_THROW(efficientad_options_from_json(
                   {{"teacher", "random"}, {"model_size", "large"}}),
               Error);
}

TEST(EfficientAdOptions, DefaultsAreThePapers) {
  EfficientAdOptions o = efficientad_options_from_json({{"teacher", "t"}});
  EXPECT_EQ(o.model_size, "small");
  EXPECT_EQ(o.teacher_channels, 384);
  EXPECT_EQ(o.hard_quantile, 0.999);
  EXPECT_EQ(o.map_quantile_a, 0.9);
  EXPECT_EQ(o.map_quantile_b, 0.995);
  EXPECT_EQ(o.training.steps, 70000);
  EXPECT_EQ(o.training.batch_size, 1);
  EXPECT_EQ(o.training.learning_rate, 1e-4);
  EXPECT_EQ(o.training.weight_decay, 1e-5);
}

TEST(EfficientAdOptions, IsARegisteredModelType) {
  std::vector<std::string> types = registered_model_types();
  EXPECT_NE(std::find(types.begin(), types.end(), "efficientad"), types.end());
}

// The validation loss (fixed images, no augmentation) falls.
TEST(EfficientAdTraining, LossDecreases) {
  TrainingSet set = blobs(8, 1);
  TrainingReport report;
  train(request({{"steps", 8}, {"learning_rate", 2e-3}, {"validate_every", 1}}),
        set, &report);

  ASSERT_EQ(report.losses.size(), 8u);
  ASSERT_EQ(report.validation_losses.size(), 8u);
  EXPECT_LT(report.validation_losses.back(),
            0.8 * report.validation_losses.front());
}

TEST(EfficientAdTraining, SaveLoadGivesIdenticalScores) {
  TrainingSet set = blobs(6, 1);
  TrainRequest r = request({{"steps", 1}});
  std::unique_ptr<Model> model = train(r, set);
  testing::TempDir dir;
  ModelInfo info;
  info.type = "efficientad";
  info.preprocess = r.preprocess;
  save_model((dir / "ead.vigil").string(), *model, info);
  LoadedModel loaded = load_model((dir / "ead.vigil").string());

  testing::expect_same_scores(*model, *loaded.model, blobs(3, 9));
}

TEST(EfficientAdTraining, SameSeedGivesIdenticalWeights) {
  TrainingSet set = blobs(6, 1);
  TensorFile first = weights(*train(request({{"steps", 1}}, 5), set));
  TensorFile again = weights(*train(request({{"steps", 1}}, 5), set));
  TensorFile other = weights(*train(request({{"steps", 1}}, 6), set));

  EXPECT_TRUE(same_tensors(first, again));
  EXPECT_FALSE(same_tensors(first, other));
}

// On its own validation images, each normalised map has 90 % of its
// pixels at or below 0 (qa maps to 0), so the combined map's median is
// below 0.
TEST(EfficientAdTraining, ValidationMapsAreMostlyBelowZero) {
  TrainingSet set = blobs(6, 1);
  TrainingSet validation = blobs(4, 2);
  TrainRequest r = request({{"steps", 1}});
  r.validation = &validation;
  std::unique_ptr<Model> model = train(r, set);
  RawOutput out = model->score(validation.images.data(), 4, kSize, kSize);

  std::vector<float> values = out.anomaly_maps;
  std::nth_element(values.begin(), values.begin() + values.size() / 2,
                   values.end());
  EXPECT_LT(values[values.size() / 2], 0.0f);
}

TEST(EfficientAdTraining, PenaltyImagesFromAFolder) {
  testing::TempDir dir;
  write_images(dir / "penalty", 3);
  TrainingSet set = blobs(4, 1);
  TrainingReport report;
  train(request({{"steps", 1}, {"penalty_images", (dir / "penalty").string()}}),
        set, &report);
  EXPECT_EQ(report.losses.size(), 1u);
  EXPECT_THROW(train(request({{"steps", 1},
                              {"penalty_images", (dir / "none").string()}}),
                     set),
               Error);
}

TEST(EfficientAdTraining, TooSmallInputIsRefused) {
  TrainingSet set = blobs(4, 1);
  set.height = set.width = 32;
  set.n = 4 * 4;  // same floats, smaller images
  EXPECT_THROW(train(request({{"steps", 1}}), set), Error);
}

DistillOptions distill_options(const std::filesystem::path& images,
                               const std::filesystem::path& output,
                               std::int64_t steps) {
  DistillOptions o;
  o.backbone = {mobilenet(), {"339", "365"}, 1};
  o.images = images.string();
  o.channels = kChannels;
  o.image_size = kSize;
  o.stats_images = 4;
  o.seed = 1;
  o.output = output.string();
  o.training.steps = steps;
  o.training.batch_size = 4;
  o.training.learning_rate = 1e-3;
  o.training.validation_fraction = 0.25;
  o.training.threads = 1;
  return o;
}

// The PDN learns to regress the backbone's projected features: after 12
// steps the held-out error is clearly lower than after 1. The file then serves
// as a teacher; one of another width is refused.
TEST(EfficientAdDistill, TeacherLearnsAndServes) {
  testing::TempDir dir;
  write_images(dir / "images", 8);
  DistillResult one =
      distill_teacher(distill_options(dir / "images", dir / "t1.teacher", 1));
  DistillResult more =
      distill_teacher(distill_options(dir / "images", dir / "t12.teacher", 12));

  EXPECT_EQ(more.steps, 12);
  EXPECT_EQ(more.images, 6);
  EXPECT_LT(more.validation_loss, 0.9 * one.validation_loss);

  TrainingSet set = blobs(4, 1);
  TrainingReport report;
  train(request({{"steps", 1}, {"teacher", (dir / "t12.teacher").string()}}),
        set, &report);
  EXPECT_EQ(report.steps, 1);
  EXPECT_THROW(train(request({{"steps", 1},
                              {"teacher", (dir / "t12.teacher").string()},
                              {"teacher_channels", 2 * kChannels}}),
                     set),
               Error);
}

TEST(EfficientAdDistill, BadOptionsAreRefused) {
  testing::TempDir dir;
  DistillOptions o = distill_options(dir / "missing", dir / "t.teacher", 1);
  EXPECT_THROW(distill_teacher(o), Error);
  o.images = dir.path().string();
  o.image_size = 32;
  EXPECT_THROW(distill_teacher(o), Error);
}

// A shared dataset and one of its defect folders.
using testing::SharedSet;

class EfficientAdOnRealImages : public ::testing::TestWithParam<SharedSet> {};

// A short run on each shared dataset: end to end, finite maps.
TEST_P(EfficientAdOnRealImages, ShortScheduleTrainsAndScores) {
  const auto root = testing::shared_dir() / "datasets" / GetParam().name;
  std::vector<std::string> good = list_images((root / "train/good").string());
  good.resize(8);
  Preprocess p;
  p.resize_height = p.height = kSize;
  p.resize_width = p.width = kSize;
  TrainingSet set = load_training_set(good, p);
  TrainRequest r = request({{"steps", 2}});
  r.preprocess = p;
  std::unique_ptr<Model> model = train(r, set);

  std::vector<std::string> probes = {
      list_images((root / "test/good").string())[0],
      list_images((root / "test" / GetParam().defect).string())[0]};
  TrainingSet test = load_training_set(probes, p);
  RawOutput out = model->score(test.images.data(), 2, kSize, kSize);

  ASSERT_EQ(out.image_scores.size(), 2u);
  for (float v : out.anomaly_maps) ASSERT_TRUE(std::isfinite(v));
}

INSTANTIATE_TEST_SUITE_P(SharedDatasets, EfficientAdOnRealImages,
                         ::testing::Values(SharedSet{"magnetic_tile", "break"},
                                           SharedSet{"kolektorsdd", "defect"}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace vigil
