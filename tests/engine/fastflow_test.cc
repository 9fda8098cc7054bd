#include "vigil/fastflow.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <random>

#include "engine/reload_check.h"
#include "support/test_support.h"
#include "vigil/dataset.h"
#include "vigil/error.h"
#include "vigil/model.h"
#include "vigil/training.h"

namespace vigil {
namespace {

constexpr int kSize = 64;

std::string mobilenet() {
  return (testing::shared_dir() / "backbones" /
          "mobilenetv2-fp32-dequantized.onnx")
      .string();
}

// n gray images of stripes with random phase and noise, preprocessed-like
// values (about -2 .. 2).
TrainingSet stripes(int n, std::uint64_t seed, float frequency = 0.4f) {
  TrainingSet set;
  set.n = n, set.height = kSize, set.width = kSize;
  set.images.resize(std::size_t(n) * 3 * kSize * kSize);
  std::mt19937 random(seed);
  std::uniform_real_distribution<float> phase(0.0f, 6.28f);
  std::normal_distribution<float> noise(0.0f, 0.1f);
  for (int i = 0; i < n; ++i) {
    float p = phase(random);
    for (int y = 0; y < kSize; ++y) {
      for (int x = 0; x < kSize; ++x) {
        float v = std::sin(frequency * x + p) + noise(random);
        for (int c = 0; c < 3; ++c) {
          set.images[((std::size_t(i) * 3 + c) * kSize + y) * kSize + x] = v;
        }
      }
    }
    set.paths.push_back("stripes" + std::to_string(i));
  }
  return set;
}

TrainRequest request(nlohmann::json options, std::uint64_t seed = 7) {
  TrainRequest r;
  r.type = "fastflow";
  r.backbone = {mobilenet(), {"339", "365"}, 1};
  r.preprocess.resize_height = r.preprocess.height = kSize;
  r.preprocess.resize_width = r.preprocess.width = kSize;
  r.seed = seed;
  r.batch_size = 8;
  nlohmann::json quick = {{"flow_steps", 2},
                          {"batch_size", 4},
                          {"patience", 0},
                          {"threads", 1},
                          {"deterministic", true}};
  quick.update(options);
  r.options = quick;
  return r;
}

std::unique_ptr<Model> train(const TrainRequest& r, const TrainingSet& set,
                             TrainingReport* report = nullptr) {
  return train_fastflow(r, set, Backbone::open(r.backbone), report);
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

double mean(const std::vector<double>& v, std::size_t first,
            std::size_t count) {
  return std::accumulate(v.begin() + first, v.begin() + first + count, 0.0) /
         double(count);
}

// log|det a| of a d x d row-major matrix, by Gaussian elimination with
// partial pivoting.
double log_abs_det(std::vector<double> a, int d) {
  double log_det = 0.0;
  for (int k = 0; k < d; ++k) {
    int pivot = k;
    for (int i = k + 1; i < d; ++i) {
      if (std::fabs(a[i * d + k]) > std::fabs(a[pivot * d + k])) pivot = i;
    }
    for (int j = 0; j < d; ++j) std::swap(a[k * d + j], a[pivot * d + j]);
    log_det += std::log(std::fabs(a[k * d + k]));
    for (int i = k + 1; i < d; ++i) {
      double f = a[i * d + k] / a[k * d + k];
      for (int j = k; j < d; ++j) a[i * d + j] -= f * a[k * d + j];
    }
  }
  return log_det;
}

std::vector<float> gaussian(std::size_t n, std::uint64_t seed) {
  std::mt19937 random(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = normal(random);
  return v;
}

// Sets every float of tensor `name` from `f(old value, index)`.
template <typename F>
void rewrite(TensorFile& file, const std::string& name, F f) {
  Tensor& t = file.tensors.at(name);
  std::size_t n = t.bytes.size() / sizeof(float);
  for (std::size_t i = 0; i < n; ++i) {
    float v;
    std::memcpy(&v, t.bytes.data() + i * sizeof(float), sizeof(float));
    v = f(v, i);
    std::memcpy(t.bytes.data() + i * sizeof(float), &v, sizeof(float));
  }
}

// A flow far from the identity: stronger couplings, global scales away
// from 1 and offsets away from 0.
FlowStack perturbed_flow(const FlowShape& shape, int steps) {
  FastFlowOptions options;
  options.flow_steps = steps;
  FlowStack flow(shape, options, 3);
  TensorFile file;
  flow.write_tensors(file, "");
  std::mt19937 random(5);
  std::uniform_real_distribution<float> scale(4.0f, 14.0f), offset(-1, 1);
  for (int i = 0; i < steps; ++i) {
    std::string step = "step" + std::to_string(i) + ".";
    rewrite(file, step + "conv1.weight", [](float v, auto) { return 3 * v; });
    rewrite(file, step + "conv2.weight", [](float v, auto) { return 3 * v; });
    rewrite(file, step + "global_scale",
            [&](float, auto) { return scale(random); });
    rewrite(file, step + "global_offset",
            [&](float, auto) { return offset(random); });
  }
  flow.read_tensors(file, "");
  return flow;
}

TEST(FastFlowFlow, InverseOfForwardIsIdentity) {
  const FlowShape shape{5, 4, 3};
  FlowStack flow = perturbed_flow(shape, 8);
  const int n = 2, size = n * 5 * 4 * 3;
  std::vector<float> x = gaussian(size, 1), z(size), back(size);

  flow.forward(x.data(), n, z.data());
  flow.inverse(z.data(), n, back.data());

  double max_error = 0.0, max_change = 0.0;
  for (int i = 0; i < size; ++i) {
    max_error = std::max(max_error, double(std::fabs(back[i] - x[i])));
    max_change = std::max(max_change, double(std::fabs(z[i] - x[i])));
  }
  EXPECT_LT(max_error, 1e-4);
  EXPECT_GT(max_change, 0.1);  // the flow is not the identity
}

// The log-determinant the flow reports against one from the Jacobian
// measured by central differences.
TEST(FastFlowFlow, LogDetEqualsNumericJacobian) {
  const FlowShape shape{3, 2, 2};  // odd channels: unequal halves
  const int d = 3 * 2 * 2;
  FlowStack flow = perturbed_flow(shape, 2);  // a 3x3 and a 1x1 step
  std::vector<float> x = gaussian(d, 2), z(d);
  const float log_det = flow.forward(x.data(), 1, z.data())[0];

  const float eps = 5e-3f;
  std::vector<float> probes(std::size_t(2) * d * d);
  for (int j = 0; j < d; ++j) {
    for (int s = 0; s < 2; ++s) {
      float* probe = probes.data() + std::size_t(2 * j + s) * d;
      std::copy(x.begin(), x.end(), probe);
      probe[j] += s == 0 ? eps : -eps;
    }
  }
  std::vector<float> out(probes.size());
  flow.forward(probes.data(), 2 * d, out.data());
  std::vector<double> jacobian(std::size_t(d) * d);
  for (int j = 0; j < d; ++j) {
    for (int i = 0; i < d; ++i) {
      jacobian[i * d + j] =
          (double(out[(2 * j) * d + i]) - out[(2 * j + 1) * d + i]) /
          (2.0 * eps);
    }
  }

  EXPECT_NEAR(log_det, log_abs_det(jacobian, d), 1e-3);
  EXPECT_GT(std::fabs(log_det), 0.5);  // far from volume-preserving
}

TEST(FastFlowOptions, UnknownKeyIsRejected) {
  try {
    fastflow_options_from_json({{"flow_step", 4}});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("flow_step"), std::string::npos);
  }
  EXPECT_THROW(fastflow_options_from_json({{"flow_steps", 0}}), Error);
}

TEST(FastFlowOptions, DefaultsAreAnomalibs) {
  FastFlowOptions o = fastflow_options_from_json(nlohmann::json::object());
  EXPECT_EQ(o.flow_steps, 8);
  EXPECT_EQ(o.hidden_ratio, 1.0);
  EXPECT_EQ(o.clamp, 2.0);
  EXPECT_EQ(o.training.learning_rate, 1e-3);
  EXPECT_EQ(o.training.weight_decay, 1e-5);
  EXPECT_EQ(o.training.batch_size, 32);
}

TEST(FastFlowOptions, IsARegisteredModelType) {
  std::vector<std::string> types = registered_model_types();
  EXPECT_NE(std::find(types.begin(), types.end(), "fastflow"), types.end());
}

TEST(FastFlowTraining, LossDecreases) {
  TrainingSet set = stripes(8, 1);
  TrainingReport report;
  train(request({{"steps", 30}}), set, &report);

  ASSERT_EQ(report.steps, 30);
  ASSERT_EQ(report.losses.size(), 30u);
  EXPECT_LT(mean(report.losses, 27, 3), 0.7 * mean(report.losses, 0, 3));
}

TEST(FastFlowTraining, SaveLoadGivesIdenticalScores) {
  TrainingSet set = stripes(8, 1);
  TrainRequest r = request({{"steps", 4}});
  std::unique_ptr<Model> model = train(r, set);
  testing::TempDir dir;
  ModelInfo info;
  info.type = "fastflow";
  info.preprocess = r.preprocess;
  info.backbone = r.backbone;
  info.backbone_sha256 = model->backbone()->sha256();
  save_model((dir / "ff.vigil").string(), *model, info);
  LoadedModel loaded = load_model((dir / "ff.vigil").string());

  RawOutput a =
      testing::expect_same_scores(*model, *loaded.model, stripes(3, 9));
  for (float v : a.anomaly_maps) {
    ASSERT_GE(v, -1.0f);  // -exp(-0.5 mean z^2), averaged: in [-1, 0]
    ASSERT_LE(v, 0.0f);
  }
}

TEST(FastFlowTraining, SameSeedGivesIdenticalWeights) {
  TrainingSet set = stripes(8, 1);
  TensorFile first = weights(*train(request({{"steps", 3}}, 11), set));
  TensorFile again = weights(*train(request({{"steps", 3}}, 11), set));
  TensorFile other = weights(*train(request({{"steps", 3}}, 12), set));

  EXPECT_TRUE(same_tensors(first, again));
  EXPECT_FALSE(same_tensors(first, other));
}

// Stopping after 3 steps (mid-epoch: 2 steps per epoch) and resuming to 6
// ends with the weights of 6 steps in one go.
TEST(FastFlowTraining, ResumeEqualsUninterruptedRun) {
  TrainingSet set = stripes(8, 1);
  testing::TempDir dir;
  const std::string checkpoint = (dir / "ff.ckpt").string();
  TensorFile straight = weights(*train(request({{"steps", 6}}), set));

  TrainingReport part;
  train(request({{"steps", 3}, {"checkpoint", checkpoint}}), set, &part);
  ASSERT_TRUE(std::filesystem::exists(checkpoint));
  TrainingReport rest;
  TensorFile resumed = weights(*train(
      request({{"steps", 6}, {"checkpoint", checkpoint}, {"resume", true}}),
      set, &rest));

  EXPECT_EQ(part.losses.size(), 3u);
  EXPECT_EQ(rest.losses.size(), 3u);
  EXPECT_EQ(rest.steps, 6);
  EXPECT_TRUE(same_tensors(straight, resumed));
}

// Validation images unlike the training ones (other stripes) make the
// validation loss climb once the flow fits the training ones: training
// stops `patience` evaluations after the best one and returns the weights
// of that step, the same as a run that ends there.
TEST(FastFlowTraining, EarlyStopKeepsTheBestWeights) {
  TrainingSet set = stripes(8, 1), validation = stripes(4, 2, 1.3f);
  TrainRequest r = request({{"steps", 40},
                            {"learning_rate", 0.05},
                            {"validate_every", 1},
                            {"patience", 2}});
  r.validation = &validation;
  TrainingReport report;
  TensorFile stopped = weights(*train(r, set, &report));

  const std::vector<double>& v = report.validation_losses;
  std::size_t best = std::min_element(v.begin(), v.end()) - v.begin();
  ASSERT_TRUE(report.stopped_early);
  EXPECT_EQ(v.size(), best + 1 + 2);
  EXPECT_EQ(report.steps, std::int64_t(v.size()));

  TrainRequest shorter =
      request({{"steps", std::int64_t(best) + 1}, {"learning_rate", 0.05}});
  shorter.validation = &validation;
  EXPECT_TRUE(same_tensors(stopped, weights(*train(shorter, set))));
}

TEST(FastFlowTraining, CheckpointOfAnotherConfigurationIsRefused) {
  TrainingSet set = stripes(8, 1);
  testing::TempDir dir;
  const std::string checkpoint = (dir / "ff.ckpt").string();
  train(request({{"steps", 1}, {"checkpoint", checkpoint}}), set);
  EXPECT_THROW(train(request({{"steps", 2},
                              {"checkpoint", checkpoint},
                              {"resume", true},
                              {"flow_steps", 4}}),
                     set),
               Error);
}

TEST(FastFlowTraining, NeedsABackbone) {
  TrainingSet set = stripes(2, 1);
  EXPECT_THROW(train_fastflow(request({{"steps", 1}}), set, nullptr), Error);
}

// A shared dataset and one of its defect folders.
using testing::SharedSet;

class FastFlowOnRealImages : public ::testing::TestWithParam<SharedSet> {};

// A short run on each shared dataset: it runs end to end, the loss falls
// and the maps are log-likelihoods (finite, at most 0).
TEST_P(FastFlowOnRealImages, ShortScheduleTrainsAndScores) {
  const auto root = testing::shared_dir() / "datasets" / GetParam().name;
  std::vector<std::string> good = list_images((root / "train/good").string());
  good.resize(8);
  Preprocess p;
  p.resize_height = p.height = 128;
  p.resize_width = p.width = 128;
  TrainingSet set = load_training_set(good, p);
  TrainRequest r = request({{"steps", 10}, {"batch_size", 8}});
  r.preprocess = p;
  r.backbone.layers = {"339", "365", "426"};
  TrainingReport report;
  std::unique_ptr<Model> model = train(r, set, &report);

  std::vector<std::string> probes = {
      list_images((root / "test/good").string())[0],
      list_images((root / "test" / GetParam().defect).string())[0]};
  TrainingSet test = load_training_set(probes, p);
  RawOutput out = model->score(test.images.data(), 2, 128, 128);

  EXPECT_LT(report.losses.back(), report.losses.front());
  ASSERT_EQ(out.image_scores.size(), 2u);
  for (float v : out.anomaly_maps) {
    ASSERT_TRUE(std::isfinite(v));
    ASSERT_LE(v, 0.0f);
  }
}

INSTANTIATE_TEST_SUITE_P(SharedDatasets, FastFlowOnRealImages,
                         ::testing::Values(SharedSet{"magnetic_tile", "break"},
                                           SharedSet{"kolektorsdd", "defect"}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace vigil
