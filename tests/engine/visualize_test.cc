#include "vigil/visualize.h"

#include <functional>
#include <vector>

#include <gtest/gtest.h>

#include "support/test_support.h"
#include "vigil/error.h"
#include "vigil/image_io.h"

namespace vigil {
namespace {

const cv::Vec3b kRed(255, 0, 0);
const cv::Vec3b kWhite(255, 255, 255);

std::string error_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected vigil::Error";
  return "";
}

cv::Mat gray_image(cv::Size size, int value) {
  return cv::Mat(size, CV_8UC3, cv::Scalar(value, value, value));
}

// A mask with one defect: rows and columns [20, 40) of a 64 x 64 image.
cv::Mat square_mask(std::uint8_t on) {
  cv::Mat mask(64, 64, CV_8UC1, cv::Scalar(0));
  mask(cv::Rect(20, 20, 20, 20)).setTo(on);
  return mask;
}

// Lengths of the runs of non-white pixels along row y: one per panel.
std::vector<int> panel_widths(const cv::Mat& picture, int y) {
  std::vector<int> runs;
  int run = 0;
  for (int x = 0; x < picture.cols; ++x) {
    if (picture.at<cv::Vec3b>(y, x) != kWhite) {
      ++run;
    } else if (run > 0) {
      runs.push_back(run);
      run = 0;
    }
  }
  if (run > 0) runs.push_back(run);
  return runs;
}

// JET maps 0 to dark blue (0, 0, 128) and 1 to dark red (128, 0, 0), so on
// gray 100: 0.4 * 128 + 0.6 * 100 = 111.2 and 0.6 * 100 = 60.
TEST(HeatMapOverlay, BlendsJetOverTheImage) {
  cv::Mat image = gray_image(cv::Size(8, 4), 100);
  cv::Mat map(4, 8, CV_32FC1, cv::Scalar(0.0f));
  map.col(7).setTo(1.0f);
  map.col(6).setTo(3.0f);  // clipped to 1
  cv::Mat overlay = heat_map_overlay(image, map);
  ASSERT_EQ(overlay.type(), CV_8UC3);
  ASSERT_EQ(overlay.size(), image.size());
  EXPECT_EQ(overlay.at<cv::Vec3b>(2, 0), cv::Vec3b(60, 60, 111));
  EXPECT_EQ(overlay.at<cv::Vec3b>(2, 7), cv::Vec3b(111, 60, 60));
  EXPECT_EQ(overlay.at<cv::Vec3b>(2, 6), cv::Vec3b(111, 60, 60));
}

TEST(HeatMapOverlay, RejectsMapOfAnotherSize) {
  cv::Mat image = gray_image(cv::Size(8, 4), 100);
  cv::Mat map(8, 8, CV_32FC1, cv::Scalar(0.0f));
  std::string message = error_of([&] { heat_map_overlay(image, map); });
  EXPECT_NE(message.find("anomaly_map: is 8x8 px but the image is 8x4 px"),
            std::string::npos)
      << message;
}

TEST(DrawSegmentation, OutlinesThePredictedRegion) {
  cv::Mat image = gray_image(cv::Size(64, 64), 0);
  for (std::uint8_t on : {1, 255}) {
    cv::Mat out = draw_segmentation(image, square_mask(on));
    ASSERT_EQ(out.size(), image.size());
    EXPECT_EQ(out.at<cv::Vec3b>(20, 30), kRed);  // the region's top edge
    EXPECT_EQ(out.at<cv::Vec3b>(30, 39), kRed);  // its right edge
    EXPECT_EQ(out.at<cv::Vec3b>(30, 30), cv::Vec3b(0, 0, 0));  // inside
    EXPECT_EQ(out.at<cv::Vec3b>(5, 5), cv::Vec3b(0, 0, 0));    // far away
  }
  EXPECT_EQ(cv::countNonZero(image.reshape(1)), 0);  // input untouched
}

TEST(VisualizeFull, ShowsFivePanelsWithGroundTruthAndFourWithout) {
  cv::Size size(100, 50);  // enlarged to 256 x 128 panels
  cv::Mat image = gray_image(size, 128);
  cv::Mat map(size, CV_32FC1, cv::Scalar(0.5f));
  cv::Mat pred(size, CV_8UC1, cv::Scalar(0));
  pred(cv::Rect(10, 2, 10, 8)).setTo(1);  // clear of the scanned row
  cv::Mat gt = pred.clone();

  cv::Mat full = visualize_full(image, gt, map, pred, 0.93f, true);
  ASSERT_EQ(full.type(), CV_8UC3);
  int panel_top = full.rows - 128 - 8;  // panels end one gap above the edge
  EXPECT_EQ(panel_widths(full, panel_top + 100),
            std::vector<int>(5, kMinPanelSide));
  EXPECT_EQ(full.at<cv::Vec3b>(0, 0), cv::Vec3b(255, 100, 100));

  cv::Mat without = visualize_full(image, cv::Mat(), map, pred, 0.1f, false);
  EXPECT_EQ(without.rows, full.rows);
  EXPECT_EQ(panel_widths(without, panel_top + 100),
            std::vector<int>(4, kMinPanelSide));
  EXPECT_EQ(without.at<cv::Vec3b>(0, 0), cv::Vec3b(225, 252, 134));
}

TEST(VisualizeFull, ShrinksTallImages) {
  cv::Size size(500, 1250);  // a KolektorSDD frame
  cv::Mat image = gray_image(size, 128);
  cv::Mat map(size, CV_32FC1, cv::Scalar(0.2f));
  cv::Mat pred(size, CV_8UC1, cv::Scalar(0));
  cv::Mat full = visualize_full(image, cv::Mat(), map, pred, 0.2f, false);
  EXPECT_LT(full.rows, kMaxPanelSide + 100);
  EXPECT_EQ(panel_widths(full, full.rows - 100), std::vector<int>(4, 205));
}

TEST(VisualizeFull, RejectsGroundTruthOfAnotherSize) {
  cv::Size size(64, 64);
  cv::Mat image = gray_image(size, 128);
  cv::Mat map(size, CV_32FC1, cv::Scalar(0.2f));
  cv::Mat gt(32, 32, CV_8UC1, cv::Scalar(0));
  std::string message = error_of(
      [&] { visualize_full(image, gt, map, square_mask(1), 0.2f, false); });
  EXPECT_NE(message.find("gt_mask"), std::string::npos) << message;
}

TEST(VisualizeSimple, OutlinesOverTheHeatMapAndLabels) {
  cv::Mat image = gray_image(cv::Size(64, 64), 100);
  cv::Mat map(64, 64, CV_32FC1, cv::Scalar(0.0f));
  cv::Mat out = visualize_simple(image, map, square_mask(1), 0.8f, true);
  ASSERT_EQ(out.size(), image.size());
  EXPECT_EQ(out.at<cv::Vec3b>(39, 30), kRed);
  EXPECT_EQ(out.at<cv::Vec3b>(60, 60), cv::Vec3b(60, 60, 111));  // heat map
  EXPECT_EQ(out.at<cv::Vec3b>(0, 0), cv::Vec3b(255, 100, 100));  // label
}

TEST(WriteImage, WritesRgbAndCreatesFolders) {
  testing::TempDir dir;
  cv::Mat rgb(3, 5, CV_8UC3, cv::Scalar(255, 0, 0));
  std::string path = (dir / "a/b/red.png").string();
  write_image(path, rgb);
  EXPECT_EQ(rgb.at<cv::Vec3b>(0, 0), kRed);  // the input is left as it was
  cv::Mat back = read_image(path);
  EXPECT_EQ(cv::norm(back, rgb, cv::NORM_INF), 0.0);
}

TEST(WriteImage, NamesThePathOnFailure) {
  testing::TempDir dir;
  cv::Mat rgb(3, 5, CV_8UC3, cv::Scalar(255, 0, 0));
  std::string unknown = (dir / "red.xyz").string();
  EXPECT_NE(error_of([&] { write_image(unknown, rgb); }).find(unknown + ": "),
            std::string::npos);

  write_image((dir / "file.png").string(), rgb);
  std::string under_file = (dir / "file.png/red.png").string();
  EXPECT_NE(
      error_of([&] { write_image(under_file, rgb); }).find(under_file + ": "),
      std::string::npos);
}

}  // namespace
}  // namespace vigil
