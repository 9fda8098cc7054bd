// Calibration: thresholds from validation scores, min-max normalisation,
// and the JSON form stored in model files.

#include "vigil/calibration.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <sstream>
#include <string>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "vigil/error.h"

namespace vigil {
namespace {

Calibration with_image(float threshold, float min, float max) {
  Calibration c;
  c.image_threshold = threshold;
  c.image_min = min;
  c.image_max = max;
  return c;
}

// Catches what `f` throws and returns its message ("" if nothing).
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Sends the default logger's output to a string while alive.
class CapturedLog {
 public:
  CapturedLog() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(text_);
    spdlog::set_default_logger(
        std::make_shared<spdlog::logger>("captured", sink));
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  std::string text() const { return text_.str(); }

 private:
  std::shared_ptr<spdlog::logger> previous_;
  std::ostringstream text_;
};

TEST(Calibration, NormalizesAroundThresholdByHand) {
  // (raw - 2) / (4 - 0) + 0.5, clamped to [0, 1].
  const Calibration c = with_image(2.0f, 0.0f, 4.0f);
  EXPECT_FLOAT_EQ(c.normalize_image(2.0f), 0.5f);
  EXPECT_FLOAT_EQ(c.normalize_image(3.0f), 0.75f);
  EXPECT_FLOAT_EQ(c.normalize_image(1.0f), 0.25f);
  EXPECT_FLOAT_EQ(c.normalize_image(0.0f), 0.0f);
  EXPECT_FLOAT_EQ(c.normalize_image(-10.0f), 0.0f);
  EXPECT_FLOAT_EQ(c.normalize_image(10.0f), 1.0f);
}

TEST(Calibration, PixelsUseTheirOwnThresholdAndRange) {
  Calibration c = with_image(2.0f, 0.0f, 4.0f);
  c.pixel_threshold = 0.5f;
  c.pixel_min = 0.25f;
  c.pixel_max = 1.25f;
  EXPECT_FLOAT_EQ(c.normalize_pixel(0.5f), 0.5f);
  EXPECT_FLOAT_EQ(c.normalize_pixel(0.75f), 0.75f);
  EXPECT_FLOAT_EQ(c.normalize_pixel(0.0f), 0.0f);
}

TEST(Calibration, ZeroRangeIsAStepAtTheThreshold) {
  const Calibration c = with_image(1.0f, 3.0f, 3.0f);
  EXPECT_EQ(c.normalize_image(0.5f), 0.0f);
  EXPECT_EQ(c.normalize_image(1.0f), 0.5f);
  EXPECT_EQ(c.normalize_image(1.5f), 1.0f);
}

TEST(Calibration, DefectsGiveF1Thresholds) {
  // Image F1 is best at 0.35 (see metrics_test); pixel F1 is 1 at 0.6.
  PixelSamples pixels{{0.2f, 0.9f, 0.6f, 0.1f}, {0, 1, 1, 0}};
  const Calibration c =
      calibrate({0.1f, 0.4f, 0.35f, 0.8f}, {0, 0, 1, 1}, pixels);
  EXPECT_EQ(c.method, "f1_max");
  EXPECT_EQ(c.image_threshold, 0.35f);
  EXPECT_EQ(c.image_min, 0.1f);
  EXPECT_EQ(c.image_max, 0.8f);
  EXPECT_EQ(c.pixel_threshold, 0.6f);
  EXPECT_EQ(c.pixel_min, 0.1f);
  EXPECT_EQ(c.pixel_max, 0.9f);
}

TEST(Calibration, PixelsWithoutDefectTakeTheImageThreshold) {
  PixelSamples pixels{{0.2f, 0.9f, 0.6f, 0.05f}, {0, 0, 0, 0}};
  const Calibration c =
      calibrate({0.1f, 0.4f, 0.35f, 0.8f}, {0, 0, 1, 1}, pixels);
  EXPECT_EQ(c.pixel_threshold, 0.35f);
  EXPECT_EQ(c.pixel_min, 0.05f);
  EXPECT_EQ(c.pixel_max, 0.9f);
}

TEST(Calibration, NoPixelsTakeTheImageRange) {
  const Calibration c = calibrate({0.1f, 0.4f, 0.35f, 0.8f}, {0, 0, 1, 1}, {});
  EXPECT_EQ(c.pixel_threshold, 0.35f);
  EXPECT_EQ(c.pixel_min, 0.1f);
  EXPECT_EQ(c.pixel_max, 0.8f);
}

TEST(Calibration, NormalOnlyUsesMeanPlusThreeStd) {
  // Images 1..4: mean 2.5, population variance 1.25. Pixels {0, 0, 1, 1}:
  // mean 0.5, std 0.5.
  CapturedLog log;
  const Calibration c = calibrate({1.0f, 2.0f, 3.0f, 4.0f}, {0, 0, 0, 0},
                                  PixelSamples{{0.0f, 0.0f, 1.0f, 1.0f}, {}});
  EXPECT_EQ(c.method, "normal_only");
  EXPECT_FLOAT_EQ(c.image_threshold, 2.5f + 3.0f * std::sqrt(1.25f));
  EXPECT_FLOAT_EQ(c.pixel_threshold, 2.0f);
  EXPECT_EQ(c.image_min, 1.0f);
  EXPECT_EQ(c.image_max, 4.0f);
  EXPECT_EQ(c.pixel_min, 0.0f);
  EXPECT_EQ(c.pixel_max, 1.0f);
  EXPECT_NE(log.text().find("normal images only"), std::string::npos)
      << log.text();
}

TEST(Calibration, NormalOnlyWithoutPixelsSharesTheImageThreshold) {
  CapturedLog log;
  const Calibration c = calibrate({1.0f, 3.0f}, {0, 0}, {});
  EXPECT_FLOAT_EQ(c.image_threshold, 2.0f + 3.0f);
  EXPECT_EQ(c.pixel_threshold, c.image_threshold);
}

TEST(Calibration, RejectsBadInput) {
  EXPECT_NE(error_of([] { calibrate({}, {}, {}); }).find("image_scores"),
            std::string::npos);
  EXPECT_THROW(calibrate({0.1f, 0.2f}, {0}, {}), Error);
  EXPECT_THROW(calibrate({0.1f}, {1}, PixelSamples{{0.1f, 0.2f}, {1}}), Error);
  EXPECT_THROW(calibrate({0.1f, std::nanf("")}, {0, 1}, {}), Error);
}

TEST(Calibration, JsonRoundTripsExactly) {
  Calibration c;
  c.method = "normal_only";
  c.image_threshold = 0.1f;
  c.image_min = -3.4e38f;
  c.image_max = 1e-7f;
  c.pixel_threshold = 1.0f / 3.0f;
  c.pixel_min = -0.0f;
  c.pixel_max = 123456.789f;
  const nlohmann::json j = nlohmann::json::parse(to_json(c).dump());
  const Calibration back = calibration_from_json(j);
  EXPECT_EQ(back.method, c.method);
  EXPECT_EQ(back.image_threshold, c.image_threshold);
  EXPECT_EQ(back.image_min, c.image_min);
  EXPECT_EQ(back.image_max, c.image_max);
  EXPECT_EQ(back.pixel_threshold, c.pixel_threshold);
  EXPECT_EQ(back.pixel_min, c.pixel_min);
  EXPECT_EQ(back.pixel_max, c.pixel_max);
}

TEST(Calibration, JsonErrorsNameTheField) {
  nlohmann::json j = to_json(Calibration{});
  j.erase("pixel_max");
  EXPECT_NE(error_of([&] { calibration_from_json(j); }).find("pixel_max"),
            std::string::npos);

  j = to_json(Calibration{});
  j["image_min"] = "low";
  EXPECT_NE(error_of([&] { calibration_from_json(j); }).find("image_min"),
            std::string::npos);

  j = to_json(Calibration{});
  j["method"] = "guess";
  EXPECT_NE(error_of([&] { calibration_from_json(j); }).find("method"),
            std::string::npos);
  EXPECT_THROW(calibration_from_json(nlohmann::json::array()), Error);
}

}  // namespace
}  // namespace vigil
