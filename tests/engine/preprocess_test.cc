#include "vigil/preprocess.h"

#include <functional>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/imgproc.hpp>

#include "vigil/error.h"

namespace vigil {
namespace {

std::string error_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected vigil::Error";
  return "";
}

// Settings that leave pixel values as they are, to test geometry alone.
Preprocess identity(int resize, int crop) {
  Preprocess p;
  p.resize_height = p.resize_width = resize;
  p.height = p.width = crop;
  p.scale = 1.0f;
  p.mean = {0.0f, 0.0f, 0.0f};
  p.std = {1.0f, 1.0f, 1.0f};
  return p;
}

std::vector<float> run(const cv::Mat& rgb, const Preprocess& p) {
  std::vector<float> out(p.tensor_size(), -999.0f);
  preprocess(rgb, p, out.data());
  return out;
}

// Gray image with value 10 * y + x at (y, x).
cv::Mat grid(int size) {
  cv::Mat image(size, size, CV_8UC3);
  for (int y = 0; y < size; ++y) {
    for (int x = 0; x < size; ++x) {
      auto v = std::uint8_t(10 * y + x);
      image.at<cv::Vec3b>(y, x) = cv::Vec3b(v, v, v);
    }
  }
  return image;
}

// Each expected value is (v / 255 - mean) / std, worked out by hand.
TEST(Preprocess, NormalisesAndLaysOutPlanes) {
  cv::Mat rgb(2, 2, CV_8UC3);
  rgb.at<cv::Vec3b>(0, 0) = cv::Vec3b(255, 0, 51);
  rgb.at<cv::Vec3b>(0, 1) = cv::Vec3b(0, 204, 255);
  rgb.at<cv::Vec3b>(1, 0) = cv::Vec3b(51, 102, 0);
  rgb.at<cv::Vec3b>(1, 1) = cv::Vec3b(153, 255, 102);
  Preprocess p;
  p.resize_height = p.resize_width = p.height = p.width = 2;
  p.mean = {0.5f, 0.4f, 0.2f};
  p.std = {0.25f, 0.5f, 0.1f};

  std::vector<float> expected = {2.0f,  -2.0f, -1.2f, 0.4f,   // R
                                 -0.8f, 0.8f,  0.0f,  1.2f,   // G
                                 0.0f,  8.0f,  -2.0f, 2.0f};  // B
  std::vector<float> out = run(rgb, p);
  for (int i = 0; i < 12; ++i) EXPECT_NEAR(out[i], expected[i], 1e-5) << i;

  p.bgr = true;
  out = run(rgb, p);
  for (int i = 0; i < 4; ++i) {
    EXPECT_NEAR(out[i], expected[8 + i], 1e-5) << i;
    EXPECT_NEAR(out[4 + i], expected[4 + i], 1e-5) << i;
    EXPECT_NEAR(out[8 + i], expected[i], 1e-5) << i;
  }
}

// Upscaling a row 0, 100 to four pixels samples at -0.25, 0.25, 0.75 and
// 1.25 source pixels (centres aligned, edges clamped): 0, 25, 75, 100.
TEST(Preprocess, ResizesBilinearly) {
  cv::Mat rgb(2, 2, CV_8UC3, cv::Scalar(0, 0, 0));
  rgb.col(1).setTo(cv::Scalar(100, 100, 100));
  Preprocess p = identity(4, 4);
  std::vector<float> out = run(rgb, p);
  const float expected[4] = {0.0f, 25.0f, 75.0f, 100.0f};
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 4; ++x) {
      EXPECT_FLOAT_EQ(out[y * 4 + x], expected[x]) << y << "," << x;
    }
  }
}

TEST(Preprocess, CropsTheCentre) {
  std::vector<float> out = run(grid(4), identity(4, 2));
  EXPECT_EQ(out, (std::vector<float>{11, 12, 21, 22, 11, 12, 21, 22, 11, 12, 21,
                                     22}));
}

// torchvision: int(round((5 - 2) / 2.0)) == 2 and int(round(0.5)) == 0.
TEST(Preprocess, RoundsOddCropOffsetsLikeTorchvision) {
  std::vector<float> out = run(grid(5), identity(5, 2));
  EXPECT_EQ(std::vector<float>(out.begin(), out.begin() + 4),
            (std::vector<float>{22, 23, 32, 33}));

  out = run(grid(5), identity(5, 4));
  EXPECT_EQ(std::vector<float>(out.begin(), out.begin() + 4),
            (std::vector<float>{0, 1, 2, 3}));
}

TEST(Preprocess, RejectsWrongImageType) {
  Preprocess p = identity(4, 4);
  std::vector<float> out(p.tensor_size());
  cv::Mat gray(4, 4, CV_8UC1, cv::Scalar(0));
  EXPECT_THROW(preprocess(gray, p, out.data()), Error);
}

TEST(NetworkView, InvertsResizeAndCrop) {
  Preprocess p;
  p.resize_height = p.resize_width = 256;
  p.height = p.width = 224;
  cv::Rect2d view = network_view(cv::Size(100, 200), p);
  EXPECT_DOUBLE_EQ(view.x, 16 * 100.0 / 256);  // 6.25
  EXPECT_DOUBLE_EQ(view.y, 16 * 200.0 / 256);  // 12.5
  EXPECT_DOUBLE_EQ(view.width, 87.5);
  EXPECT_DOUBLE_EQ(view.height, 175.0);
}

TEST(MapToOriginal, KeepsAConstantMapConstant) {
  Preprocess p;
  p.resize_height = p.resize_width = 256;
  p.height = p.width = 224;
  cv::Mat map(224, 224, CV_32FC1, cv::Scalar(0.7));
  cv::Mat back = map_to_original(map, cv::Size(100, 200), p);
  ASSERT_EQ(back.type(), CV_32FC1);
  ASSERT_EQ(back.size(), cv::Size(100, 200));
  double low = 0, high = 0;
  cv::minMaxLoc(back, &low, &high);
  EXPECT_FLOAT_EQ(float(low), 0.7f);
  EXPECT_FLOAT_EQ(float(high), 0.7f);
}

TEST(MapToOriginal, WithoutCropEqualsCvResize) {
  Preprocess p = identity(56, 56);
  cv::Mat map(56, 56, CV_32FC1);
  cv::randu(map, 0.0f, 1.0f);
  cv::Size original(203, 97);
  cv::Mat reference;
  cv::resize(map, reference, original, 0, 0, cv::INTER_LINEAR);
  cv::Mat back = map_to_original(map, original, p);
  EXPECT_LT(cv::norm(back, reference, cv::NORM_INF), 1e-5);
}

// Original 4 x 4, resized to 8 x 8, cropped to 4 x 4 at offset 2. Original
// pixel u has its centre at 2u + 1 in resized pixels: inside the crop
// [2, 6) for u = 1, 2, at map coordinates 0.5 and 2.5.
TEST(MapToOriginal, InvertsCropAndFillsOutsideWithMinimum) {
  Preprocess p = identity(8, 4);
  cv::Mat map(4, 4, CV_32FC1);
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 4; ++x) map.at<float>(y, x) = float(x + 10 * y + 1);
  }
  cv::Mat back = map_to_original(map, cv::Size(4, 4), p);
  cv::Mat expected = (cv::Mat_<float>(4, 4) << 1, 1, 1, 1,  //
                      1, 6.5, 8.5, 1,                       //
                      1, 26.5, 28.5, 1,                     //
                      1, 1, 1, 1);
  EXPECT_LT(cv::norm(back, expected, cv::NORM_INF), 1e-5) << back;
}

TEST(MapToOriginal, RejectsWrongMapSize) {
  Preprocess p = identity(8, 4);
  cv::Mat map(8, 8, CV_32FC1, cv::Scalar(0));
  std::string message =
      error_of([&] { map_to_original(map, cv::Size(8, 8), p); });
  EXPECT_NE(message.find("anomaly_map"), std::string::npos) << message;
}

TEST(PreprocessJson, RoundTrips) {
  Preprocess p;
  p.resize_height = 288;
  p.resize_width = 320;
  p.height = 256;
  p.width = 300;
  p.scale = 0.5f;
  p.mean = {1.0f, 2.0f, 3.0f};
  p.std = {4.0f, 5.0f, 6.0f};
  p.bgr = true;
  Preprocess q = preprocess_from_json(to_json(p));
  EXPECT_EQ(q.resize_height, 288);
  EXPECT_EQ(q.resize_width, 320);
  EXPECT_EQ(q.height, 256);
  EXPECT_EQ(q.width, 300);
  EXPECT_EQ(q.scale, 0.5f);
  EXPECT_EQ(q.mean, p.mean);
  EXPECT_EQ(q.std, p.std);
  EXPECT_TRUE(q.bgr);
}

TEST(PreprocessJson, NamesTheBadField) {
  auto bad = [](const char* key, nlohmann::json value) {
    nlohmann::json j = to_json(Preprocess{});
    if (value.is_null()) {
      j.erase(key);
    } else {
      j[key] = value;
    }
    return error_of([&] { preprocess_from_json(j); });
  };
  EXPECT_NE(bad("height", 300).find("preprocess.height: crop 300 is larger"),
            std::string::npos);
  EXPECT_NE(bad("width", 0).find("preprocess.width"), std::string::npos);
  EXPECT_NE(bad("resize_width", -5).find("preprocess.resize_width"),
            std::string::npos);
  EXPECT_NE(bad("height", "224").find("preprocess.height: must be an integer"),
            std::string::npos);
  EXPECT_NE(bad("std", {0.2, 0.0, 0.2}).find("preprocess.std"),
            std::string::npos);
  EXPECT_NE(bad("mean", {0.5, 0.5}).find("preprocess.mean"), std::string::npos);
  EXPECT_NE(bad("mean", nullptr).find("preprocess.mean: missing"),
            std::string::npos);
  EXPECT_NE(bad("scale", 0).find("preprocess.scale"), std::string::npos);
  EXPECT_NE(bad("bgr", 1).find("preprocess.bgr"), std::string::npos);
  EXPECT_THROW(preprocess_from_json(nlohmann::json::array()), Error);
}

}  // namespace
}  // namespace vigil
