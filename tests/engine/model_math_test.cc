// PaDiM's and PatchCore's arithmetic on hand-made features, with
// the expected values worked out by hand below.
#include <cmath>

#include <gtest/gtest.h>

#include "engine/fake_backbone.h"
#include "vigil/error.h"
#include "vigil/training.h"

namespace vigil {
namespace {

constexpr int kSize = 8;  // input images are kSize x kSize

// Images whose first value is their index (see FakeBackbone).
TrainingSet indexed_images(const std::vector<int>& indices) {
  TrainingSet set;
  set.n = indices.size();
  set.height = set.width = kSize;
  set.images.assign(std::size_t(set.n) * 3 * kSize * kSize, 0.0f);
  for (int i = 0; i < set.n; ++i)
    set.images[i * 3 * kSize * kSize] = indices[i];
  return set;
}

RawOutput score_one(const Model& model, int index) {
  TrainingSet query = indexed_images({index});
  return model.score(query.images.data(), 1, kSize, kSize);
}

TEST(PadimMath, MahalanobisDistanceMatchesHandComputation) {
  // One position, two channels; training features (1,0), (2,1), (3,5).
  // mean (2, 2); var1 = 1, var2 = (4+1+9)/2 = 7, cov = (2+0+3)/2 = 2.5;
  // with epsilon 0.01: S = [[1.01, 2.5], [2.5, 7.01]], det = 0.8301.
  // Query (3, 2): delta (1, 0), d^2 = S^-1[0][0] = 7.01 / 0.8301.
  std::vector<std::vector<float>> features = {
      {1, 0}, {2, 1}, {3, 5}, {3, 2}, {2, 2}};
  TrainRequest request;
  request.type = "padim";
  request.options = {{"n_features", 0}};
  auto model = train_model_with_backbone(
      request, indexed_images({0, 1, 2}),
      std::make_unique<testing::FakeBackbone>(2, 1, 1, features));

  RawOutput far = score_one(*model, 3);
  EXPECT_NEAR(far.image_scores[0], std::sqrt(7.01 / 0.8301), 1e-4);
  // A constant 1 x 1 grid upsampled and smoothed stays constant.
  EXPECT_NEAR(far.anomaly_maps[kSize * kSize - 1], far.image_scores[0], 1e-4);
  EXPECT_NEAR(score_one(*model, 4).image_scores[0], 0.0, 1e-3);
}

TEST(PatchCoreMath, ImageScoreIsReweightedAsInThePaper) {
  // One patch per image, two channels. Locally aware features average a
  // 3 x 3 neighbourhood with zero padding, so a 1 x 1 map is divided by 9:
  // bank a = (0,0), b = (1,0), c = (0,2); query q = (3,0).
  std::vector<std::vector<float>> features = {{0, 0}, {9, 0}, {0, 18}, {27, 0}};
  TrainRequest request;
  request.type = "patchcore";
  request.options = {{"coreset_ratio", 1.0}, {"sigma", 0.0}};
  auto model = train_model_with_backbone(
      request, indexed_images({0, 1, 2}),
      std::make_unique<testing::FakeBackbone>(2, 1, 1, features));

  RawOutput out = score_one(*model, 3);
  // Nearest bank patch of q is b at distance 2: the map is 2 everywhere.
  EXPECT_NEAR(out.anomaly_maps[0], 2.0, 1e-5);
  // b's neighbours in the bank: b, a, c. Distances from q: 2, 3, sqrt(13).
  // score = (1 - e^2 / (e^2 + e^3 + e^sqrt(13))) * 2.
  double e = std::exp(2.0) + std::exp(3.0) + std::exp(std::sqrt(13.0));
  EXPECT_NEAR(out.image_scores[0], (1.0 - std::exp(2.0) / e) * 2.0, 1e-5);
}

TEST(PatchCoreMath, RejectsUnknownOption) {
  TrainRequest request;
  request.type = "patchcore";
  request.options = {{"coreset_ratoi", 0.1}};
  try {
    train_model_with_backbone(
        request, indexed_images({0}),
        std::make_unique<testing::FakeBackbone>(
            1, 1, 1, std::vector<std::vector<float>>{{0}}));
    FAIL() << "expected vigil::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("coreset_ratoi"), std::string::npos);
  }
}

}  // namespace
}  // namespace vigil
