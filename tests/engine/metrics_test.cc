// Metrics: hand-computed cases, and random inputs against scikit-learn and
// a plain implementation of the MVTec AUPRO (tools/reference_metrics.py).

#include "vigil/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "support/test_support.h"
#include "vigil/error.h"

namespace vigil {
namespace {

using Labels = std::vector<std::uint8_t>;

// Runs tools/reference_metrics.py on `input`; returns its JSON answer.
nlohmann::json reference(const nlohmann::json& input) {
  testing::TempDir dir;
  const std::filesystem::path path = dir / "input.json";
  std::ofstream(path) << input.dump();
  const std::string command =
      testing::python() + " '" +
      (testing::source_dir() / "tools" / "reference_metrics.py").string() +
      "' '" + path.string() + "'";
  std::string output;
  const int status = testing::run_command(command, &output);
  if (status != 0) throw std::runtime_error("failed: " + command);
  return nlohmann::json::parse(output);
}

nlohmann::json rows_of(const cv::Mat& image) {
  nlohmann::json rows = nlohmann::json::array();
  for (int y = 0; y < image.rows; ++y) {
    nlohmann::json row = nlohmann::json::array();
    for (int x = 0; x < image.cols; ++x) {
      row.push_back(image.type() == CV_32FC1 ? image.at<float>(y, x)
                                             : image.at<std::uint8_t>(y, x));
    }
    rows.push_back(row);
  }
  return rows;
}

nlohmann::json images_of(const std::vector<cv::Mat>& images) {
  nlohmann::json list = nlohmann::json::array();
  for (const cv::Mat& image : images) list.push_back(rows_of(image));
  return list;
}

cv::Mat row_map(const std::vector<float>& values) {
  return cv::Mat(values, true).reshape(1, 1);
}

cv::Mat row_mask(const std::vector<std::uint8_t>& values) {
  return cv::Mat(values, true).reshape(1, 1);
}

// --- AUROC by hand ---

TEST(Auroc, HandComputed) {
  // Of the 4 (positive, negative) pairs, 0.35 < 0.4 is the one wrong.
  EXPECT_DOUBLE_EQ(auroc({0.1f, 0.4f, 0.35f, 0.8f}, {0, 0, 1, 1}), 0.75);
}

TEST(Auroc, TiesCountOneHalf) {
  // Pairs: 0.5>0.2, 0.5=0.5 (half), 0.9>0.2, 0.9>0.5: 3.5 of 4.
  EXPECT_DOUBLE_EQ(auroc({0.2f, 0.5f, 0.5f, 0.9f}, {0, 1, 0, 1}), 0.875);
  EXPECT_DOUBLE_EQ(auroc({0.5f, 0.5f, 0.5f}, {0, 1, 0}), 0.5);
}

TEST(Auroc, NegativeZeroEqualsZero) {
  EXPECT_DOUBLE_EQ(auroc({-0.0f, 0.0f}, {1, 0}), 0.5);
}

TEST(Auroc, NegativeScoresOrderBelowPositive) {
  EXPECT_DOUBLE_EQ(auroc({-2.0f, -1.0f, 0.5f, 3.0f}, {0, 0, 1, 1}), 1.0);
  EXPECT_DOUBLE_EQ(auroc({-1.0f, -2.0f, -3.0f}, {1, 0, 0}), 1.0);
}

TEST(Auroc, OneClassIsNaN) {
  EXPECT_TRUE(std::isnan(auroc({0.1f, 0.2f}, {1, 1})));
  EXPECT_TRUE(std::isnan(auroc({0.1f, 0.2f}, {0, 0})));
  EXPECT_TRUE(std::isnan(auroc({}, {})));
}

TEST(Auroc, RejectsBadInput) {
  EXPECT_THROW(auroc({0.1f, 0.2f}, {1}), Error);
  EXPECT_THROW(auroc({0.1f, 0.2f}, {1, 2}), Error);
  EXPECT_THROW(auroc({0.1f, std::nanf("")}, {1, 0}), Error);
}

// --- F1 by hand ---

TEST(F1Max, HandComputed) {
  // Thresholds 0.8, 0.4, 0.35, 0.1 give (tp, fp) = (1, 0), (1, 1), (2, 1),
  // (2, 2) and F1 = 2/3, 1/2, 4/5, 2/3.
  const F1Max f = f1_max({0.1f, 0.4f, 0.35f, 0.8f}, {0, 0, 1, 1});
  EXPECT_DOUBLE_EQ(f.f1, 0.8);
  EXPECT_EQ(f.threshold, 0.35f);
  EXPECT_DOUBLE_EQ(f.precision, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(f.recall, 1.0);
}

TEST(F1Max, EqualF1GoesToLowestThreshold) {
  // At 0.9: tp 1, fp 0, F1 2/3. At 0.6: tp 2, fp 2, F1 2/3.
  const F1Max f = f1_max({0.9f, 0.8f, 0.7f, 0.6f}, {1, 0, 0, 1});
  EXPECT_DOUBLE_EQ(f.f1, 2.0 / 3.0);
  EXPECT_EQ(f.threshold, 0.6f);
  EXPECT_DOUBLE_EQ(f.precision, 0.5);
}

TEST(F1Max, TiedScoresAreOneThreshold) {
  // 0.5 holds a positive and a negative: it cannot split them.
  const F1Max f = f1_max({0.5f, 0.5f, 0.2f}, {1, 0, 0});
  EXPECT_DOUBLE_EQ(f.f1, 2.0 / 3.0);
  EXPECT_EQ(f.threshold, 0.5f);
}

TEST(F1Max, ThrowsWithoutPositive) {
  EXPECT_THROW(f1_max({0.1f, 0.2f}, {0, 0}), Error);
  EXPECT_THROW(f1_max({}, {}), Error);
}

// --- AUPRO and pixel AUROC by hand ---

// Image 1: region A = {0.9}; image 2: region B = {0.8, 0.3}; 7 normal
// pixels {0.5, 0.1, 0.1, 0.1} and {0.2, 0.1, 0.1}. Descending thresholds
// give (FPR, PRO) = (0, 1/2), (0, 3/4), (1/7, 3/4), (1/7, 1), (2/7, 1),
// (1, 1). Up to 0.3: 3/4 * 1/7 + 1 * 1/7 + 1 * (0.3 - 2/7).
struct TwoRegions {
  std::vector<cv::Mat> maps{row_map({0.9f, 0.5f, 0.1f, 0.1f, 0.1f}),
                            row_map({0.2f, 0.1f, 0.1f, 0.8f, 0.3f})};
  std::vector<cv::Mat> masks{row_mask({1, 0, 0, 0, 0}),
                             row_mask({0, 0, 0, 1, 1})};
};

TEST(Aupro, TwoRegionsHandComputed) {
  const TwoRegions in;
  const double area = 0.75 / 7 + 1.0 / 7 + (0.3 - 2.0 / 7);
  EXPECT_NEAR(aupro(in.maps, in.masks), area / 0.3, 1e-12);
  const double full = 0.75 / 7 + 1.0 / 7 + (1.0 - 2.0 / 7);
  EXPECT_NEAR(aupro(in.maps, in.masks, 1.0), full, 1e-12);
}

TEST(Aupro, PerfectMapIsOne) {
  cv::Mat mask = cv::Mat::zeros(6, 7, CV_8UC1);
  mask(cv::Rect(1, 1, 3, 2)) = 255;
  mask.at<std::uint8_t>(5, 6) = 1;
  cv::Mat map;
  mask.convertTo(map, CV_32F);
  EXPECT_DOUBLE_EQ(aupro({map}, {mask}), 1.0);
  EXPECT_DOUBLE_EQ(pixel_auroc({map}, {mask}), 1.0);
}

TEST(Aupro, RegionsAreEightConnected) {
  // The mask's three pixels touch diagonally: one region of 3, of which
  // 0.9 alone lies above the first normal pixel (0.5, FPR 1/3 > 0.3), so
  // PRO is 1/3 all the way. Four-connected it would be 2 regions, PRO 1/2.
  cv::Mat mask = (cv::Mat_<std::uint8_t>(2, 3) << 1, 1, 0, 0, 0, 1);
  cv::Mat map =
      (cv::Mat_<float>(2, 3) << 0.01f, 0.01f, 0.5f, 0.05f, 0.05f, 0.9f);
  EXPECT_NEAR(aupro({map}, {mask}), 1.0 / 3.0, 1e-12);
}

TEST(Aupro, NoDefectIsNaN) {
  const cv::Mat map = cv::Mat::ones(4, 4, CV_32F);
  EXPECT_TRUE(std::isnan(aupro({map}, {cv::Mat::zeros(4, 4, CV_8UC1)})));
  EXPECT_TRUE(std::isnan(pixel_auroc({map}, {cv::Mat::zeros(4, 4, CV_8UC1)})));
  EXPECT_TRUE(std::isnan(aupro({}, {})));
}

TEST(Aupro, RejectsBadInput) {
  const cv::Mat map = cv::Mat::ones(4, 4, CV_32F);
  const cv::Mat mask = cv::Mat::zeros(4, 4, CV_8UC1);
  EXPECT_THROW(aupro({map}, {}), Error);
  EXPECT_THROW(aupro({map}, {cv::Mat::zeros(4, 5, CV_8UC1)}), Error);
  EXPECT_THROW(aupro({mask}, {mask}), Error);
  EXPECT_THROW(pixel_auroc({map}, {map}), Error);
  EXPECT_THROW(aupro({map}, {mask}, 0.0), Error);
  EXPECT_THROW(aupro({map}, {mask}, 1.5), Error);
}

TEST(PixelAuroc, HandComputed) {
  // Positives 0.9 and 0.8 beat all 7 negatives, 0.3 beats 6 (not 0.5).
  const TwoRegions in;
  EXPECT_DOUBLE_EQ(pixel_auroc(in.maps, in.masks), 20.0 / 21.0);
}

TEST(PixelAuroc, ReadsNonContinuousMaps) {
  // Views into larger images: rows are not contiguous.
  const TwoRegions in;
  cv::Mat big_map = cv::Mat::zeros(3, 9, CV_32F);
  cv::Mat big_mask = cv::Mat::zeros(3, 9, CV_8UC1);
  std::vector<cv::Mat> maps, masks;
  for (int i = 0; i < 2; ++i) {
    in.maps[i].copyTo(big_map(cv::Rect(2, i, 5, 1)));
    in.masks[i].copyTo(big_mask(cv::Rect(2, i, 5, 1)));
  }
  const cv::Rect roi(2, 0, 5, 2);
  EXPECT_FALSE(big_map(roi).isContinuous());
  EXPECT_DOUBLE_EQ(pixel_auroc({big_map(roi)}, {big_mask(roi)}), 20.0 / 21.0);
}

// --- Random inputs against the reference tool ---

struct ScoredLabels {
  std::vector<float> scores;
  Labels labels;
};

// Anomalous samples score higher on average; a third of the scores are
// rounded to 1/32 so that ties across classes occur.
ScoredLabels random_scores(unsigned seed, int n) {
  std::mt19937 rng(seed);
  std::bernoulli_distribution anomalous(0.3);
  std::normal_distribution<float> noise(0.0f, 1.0f);
  ScoredLabels out;
  for (int i = 0; i < n; ++i) {
    const std::uint8_t label = anomalous(rng) ? 1 : 0;
    float score = 1.2f * label + noise(rng);
    if (i % 3 == 0) score = std::round(score * 32.0f) / 32.0f;
    out.scores.push_back(score);
    out.labels.push_back(label);
  }
  return out;
}

// 20000 scores in 1000 values of one 16-bit key bucket, so that the bucket
// is counted rather than sorted, plus a few elsewhere (negative, zero).
ScoredLabels crowded_scores() {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> step(0, 999);
  std::bernoulli_distribution anomalous(0.2);
  ScoredLabels out;
  for (int i = 0; i < 20000; ++i) {
    const std::uint8_t label = anomalous(rng) ? 1 : 0;
    const int k = std::min(999, step(rng) + 150 * label);
    out.scores.push_back(0.5f + static_cast<float>(k) * 0x1p-22f);
    out.labels.push_back(label);
  }
  for (float outlier : {-3.0f, -0.0f, 0.0f, 0.25f, 2.0f}) {
    out.scores.push_back(outlier);
    out.labels.push_back(outlier > 1.0f ? 1 : 0);
  }
  return out;
}

struct MapsAndMasks {
  std::vector<cv::Mat> maps;
  std::vector<cv::Mat> masks;
  std::vector<double> fpr_limits;
};

cv::Mat random_mask(cv::RNG& rng, cv::Size size) {
  cv::Mat mask = cv::Mat::zeros(size, CV_8UC1);
  const int w = rng.uniform(1, size.width / 3);
  const int h = rng.uniform(1, size.height / 3);
  mask(cv::Rect(rng.uniform(0, size.width - w), rng.uniform(0, size.height - h),
                w, h)) = 1;
  for (int k = 0; k < 6; ++k) {
    mask.at<std::uint8_t>(rng.uniform(0, size.height),
                          rng.uniform(0, size.width)) = 1;
  }
  return mask;
}

// Masks with a rectangle and lone pixels (which may touch it diagonally),
// the first image without defects; maps are noise raised over the defects,
// rounded to `levels` steps so that many pixels tie.
MapsAndMasks random_maps(unsigned seed, int n, cv::Size size, int levels) {
  cv::RNG rng(seed);
  MapsAndMasks out;
  for (int i = 0; i < n; ++i) {
    cv::Mat mask =
        i == 0 ? cv::Mat::zeros(size, CV_8UC1) : random_mask(rng, size);
    cv::Mat map(size, CV_32F);
    rng.fill(map, cv::RNG::UNIFORM, 0.0, 0.7);
    cv::Mat lift;
    mask.convertTo(lift, CV_32F, 0.3);
    map += lift;
    for (float& v : cv::Mat_<float>(map)) v = std::floor(v * levels) / levels;
    out.maps.push_back(map);
    out.masks.push_back(mask);
  }
  return out;
}

// 16384 pixels in one key bucket ([0.5, 0.5 + 2^-8)): the counted path.
MapsAndMasks crowded_maps() {
  MapsAndMasks out = random_maps(13, 4, {64, 64}, 300);
  for (cv::Mat& map : out.maps) map = 0.5f + map * 0x1p-9f;
  out.fpr_limits = {0.3};
  return out;
}

void expect_scores_match(const ScoredLabels& in, const nlohmann::json& ref) {
  EXPECT_NEAR(auroc(in.scores, in.labels), ref["auroc"].get<double>(), 1e-9);

  const F1Max f = f1_max(in.scores, in.labels);
  const nlohmann::json& ref_f1 = ref["f1_max"];
  EXPECT_NEAR(f.f1, ref_f1["f1"].get<double>(), 1e-9);
  EXPECT_EQ(f.threshold, ref_f1["threshold"].get<float>());
  EXPECT_NEAR(f.precision, ref_f1["precision"].get<double>(), 1e-9);
  EXPECT_NEAR(f.recall, ref_f1["recall"].get<double>(), 1e-9);
}

void expect_maps_match(const MapsAndMasks& in, const nlohmann::json& ref) {
  EXPECT_NEAR(pixel_auroc(in.maps, in.masks), ref["pixel_auroc"].get<double>(),
              1e-9);
  for (std::size_t k = 0; k < in.fpr_limits.size(); ++k) {
    SCOPED_TRACE(in.fpr_limits[k]);
    EXPECT_NEAR(aupro(in.maps, in.masks, in.fpr_limits[k]),
                ref["aupro"][k].get<double>(), 1e-6);
  }
}

// Each test starts the tool once for all its cases: importing scikit-learn
// is the slow part.
TEST(MetricsReference, ScoresMatchScikitLearn) {
  const std::vector<ScoredLabels> cases = {
      random_scores(1, 600), random_scores(2, 700), random_scores(3, 800),
      crowded_scores()};
  nlohmann::json input = nlohmann::json::array();
  for (const ScoredLabels& c : cases) {
    input.push_back({{"scores", c.scores}, {"labels", c.labels}});
  }
  const nlohmann::json answers = reference(input);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(i);
    expect_scores_match(cases[i], answers.at(i));
  }
}

TEST(MetricsReference, AuproMatchesMvtecDefinition) {
  std::vector<MapsAndMasks> cases = {random_maps(11, 5, {24, 20}, 700),
                                     random_maps(12, 5, {24, 20}, 700),
                                     crowded_maps()};
  cases[0].fpr_limits = cases[1].fpr_limits = {0.3, 0.05, 1.0};
  nlohmann::json input = nlohmann::json::array();
  for (const MapsAndMasks& c : cases) {
    input.push_back({{"maps", images_of(c.maps)},
                     {"masks", images_of(c.masks)},
                     {"fpr_limits", c.fpr_limits}});
  }
  const nlohmann::json answers = reference(input);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(i);
    expect_maps_match(cases[i], answers.at(i));
  }
}

}  // namespace
}  // namespace vigil
