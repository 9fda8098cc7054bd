#include "vigil/visualize.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "vigil/error.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;

// Colours are RGB. The verdict colours are anomalib's label colours.
const cv::Scalar kRed(255, 0, 0);
const cv::Scalar kWhite(255, 255, 255);
const cv::Scalar kBlack(0, 0, 0);
const cv::Scalar kAnomalousColour(255, 100, 100);
const cv::Scalar kNormalColour(225, 252, 134);
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
constexpr double kHeatMapWeight = 0.4;

// Layout of visualize_full, in pixels.
constexpr int kGap = 8;
constexpr int kTitleHeight = 28;
constexpr int kHeaderHeight = 36;

std::string size_text(cv::Size size) {
  return std::to_string(size.width) + "x" + std::to_string(size.height);
}

void check_image(const cv::Mat& rgb) {
  if (rgb.empty() || rgb.type() != CV_8UC3) {
    throw Error("image", "expected an 8-bit, 3-channel RGB image");
  }
}

void check_plane(const cv::Mat& plane, int type, cv::Size size,
                 const char* name, const char* type_name) {
  if (plane.type() != type) {
    throw Error(name, std::string("expected ") + type_name);
  }
  if (plane.size() != size) {
    throw Error(name, "is " + size_text(plane.size()) +
                          " px but the image is " + size_text(size) + " px");
  }
}

void check_map(const cv::Mat& anomaly_map, cv::Size size) {
  check_plane(anomaly_map, CV_32FC1, size, "anomaly_map", "CV_32FC1");
}

void check_mask(const cv::Mat& mask, cv::Size size, const char* name) {
  check_plane(mask, CV_8UC1, size, name, "CV_8UC1");
}

std::string score_text(float pred_score, bool pred_label) {
  char text[64];
  std::snprintf(text, sizeof(text), "%s  score %.2f",
                pred_label ? "ANOMALOUS" : "NORMAL", double(pred_score));
  return text;
}

// Mask as a black and white picture (defect white), like anomalib's gray
// panels.
cv::Mat mask_picture(const cv::Mat& mask) {
  cv::Mat gray = mask != 0;
  cv::Mat rgb;
  cv::cvtColor(gray, rgb, cv::COLOR_GRAY2RGB);
  return rgb;
}

int outline_thickness(cv::Size size) {
  return std::max(2, (size.width + size.height) / 400);
}

void draw_outline(cv::Mat& rgb, const cv::Mat& pred_mask) {
  std::vector<std::vector<cv::Point>> contours;
  cv::Mat binary = pred_mask != 0;
  cv::findContours(binary, contours, cv::RETR_LIST, cv::CHAIN_APPROX_NONE);
  cv::drawContours(rgb, contours, -1, kRed, outline_thickness(rgb.size()),
                   cv::LINE_8);
}

// Text in a filled box whose top-left corner is `corner`.
void draw_label(cv::Mat& rgb, const std::string& text, cv::Point corner,
                double font_scale, const cv::Scalar& background) {
  int thickness = std::max(1, int(std::lround(font_scale * 2)));
  int baseline = 0;
  cv::Size text_size =
      cv::getTextSize(text, kFont, font_scale, thickness, &baseline);
  int pad = std::max(2, text_size.height / 3);
  cv::Rect box(corner, cv::Size(text_size.width + 2 * pad,
                                text_size.height + baseline + 2 * pad));
  cv::rectangle(rgb, box, background, cv::FILLED);
  cv::putText(rgb, text, corner + cv::Point(pad, pad + text_size.height), kFont,
              font_scale, kBlack, thickness, cv::LINE_AA);
}

cv::Size panel_size(cv::Size image) {
  int longer = std::max(image.width, image.height);
  double scale = 1.0;
  if (longer > kMaxPanelSide) scale = double(kMaxPanelSide) / longer;
  if (longer < kMinPanelSide) scale = double(kMinPanelSide) / longer;
  return {std::max(1, int(std::lround(image.width * scale))),
          std::max(1, int(std::lround(image.height * scale)))};
}

cv::Mat resized(const cv::Mat& image, cv::Size size, int interpolation) {
  if (image.size() == size) return image;
  cv::Mat out;
  cv::resize(image, out, size, 0.0, 0.0, interpolation);
  return out;
}

struct Panel {
  cv::Mat image;  // CV_8UC3, RGB, panel size
  std::string title;
};

// Text centred vertically in `slot` (and horizontally when `centred`),
// shrunk to the slot's width if needed.
void draw_title(cv::Mat& canvas, const std::string& title, cv::Rect slot,
                double font_scale = 0.55, bool centred = true) {
  int baseline = 0;
  cv::Size text = cv::getTextSize(title, kFont, font_scale, 1, &baseline);
  if (text.width > slot.width - 4) {
    font_scale *= double(slot.width - 4) / text.width;
    text = cv::getTextSize(title, kFont, font_scale, 1, &baseline);
  }
  int left = centred ? (slot.width - text.width) / 2 : kGap;
  cv::Point origin(slot.x + left, slot.y + (slot.height + text.height) / 2);
  cv::putText(canvas, title, origin, kFont, font_scale, kBlack, 1, cv::LINE_AA);
}

cv::Mat compose(const std::vector<Panel>& panels, const std::string& header,
                const cv::Scalar& header_colour) {
  cv::Size panel = panels.front().image.size();
  int n = int(panels.size());
  int width = n * panel.width + (n + 1) * kGap;
  int height = kHeaderHeight + kTitleHeight + panel.height + kGap;
  cv::Mat canvas(height, width, CV_8UC3, kWhite);

  canvas(cv::Rect(0, 0, width, kHeaderHeight)).setTo(header_colour);
  draw_title(canvas, header, cv::Rect(0, 0, width, kHeaderHeight), 0.7, false);
  for (int i = 0; i < n; ++i) {
    int x = kGap + i * (panel.width + kGap);
    draw_title(canvas, panels[i].title,
               cv::Rect(x, kHeaderHeight, panel.width, kTitleHeight));
    panels[i].image.copyTo(
        canvas(cv::Rect(cv::Point(x, kHeaderHeight + kTitleHeight), panel)));
  }
  return canvas;
}

}  // namespace

cv::Mat heat_map_overlay(const cv::Mat& rgb, const cv::Mat& anomaly_map) {
  check_image(rgb);
  check_map(anomaly_map, rgb.size());

  // convertTo saturates, which clips the map to [0, 1] on the way.
  cv::Mat levels;
  anomaly_map.convertTo(levels, CV_8U, 255.0);
  cv::Mat colour;
  cv::applyColorMap(levels, colour, cv::COLORMAP_JET);
  cv::cvtColor(colour, colour, cv::COLOR_BGR2RGB);
  cv::Mat overlay;
  cv::addWeighted(colour, kHeatMapWeight, rgb, 1.0 - kHeatMapWeight, 0.0,
                  overlay);
  return overlay;
}

cv::Mat draw_segmentation(const cv::Mat& rgb, const cv::Mat& pred_mask) {
  check_image(rgb);
  check_mask(pred_mask, rgb.size(), "pred_mask");
  cv::Mat out = rgb.clone();
  draw_outline(out, pred_mask);
  return out;
}

// Everything is scaled to the panel size first, so outlines and text have
// the same weight whatever the image's size.
cv::Mat visualize_full(const cv::Mat& rgb, const cv::Mat& gt_mask,
                       const cv::Mat& anomaly_map, const cv::Mat& pred_mask,
                       float pred_score, bool pred_label) {
  check_image(rgb);
  check_map(anomaly_map, rgb.size());
  check_mask(pred_mask, rgb.size(), "pred_mask");
  if (!gt_mask.empty()) check_mask(gt_mask, rgb.size(), "gt_mask");

  cv::Size size = panel_size(rgb.size());
  cv::Mat image = resized(rgb, size, cv::INTER_AREA);
  cv::Mat map = resized(anomaly_map, size, cv::INTER_LINEAR);
  cv::Mat pred = resized(pred_mask, size, cv::INTER_NEAREST);

  std::vector<Panel> panels = {{image, "Image"}};
  if (!gt_mask.empty()) {
    cv::Mat gt = resized(gt_mask, size, cv::INTER_NEAREST);
    panels.push_back({mask_picture(gt), "Ground Truth"});
  }
  panels.push_back({heat_map_overlay(image, map), "Predicted Heat Map"});
  panels.push_back({mask_picture(pred), "Predicted Mask"});
  panels.push_back({draw_segmentation(image, pred), "Segmentation Result"});
  return compose(panels, score_text(pred_score, pred_label),
                 pred_label ? kAnomalousColour : kNormalColour);
}

cv::Mat visualize_simple(const cv::Mat& rgb, const cv::Mat& anomaly_map,
                         const cv::Mat& pred_mask, float pred_score,
                         bool pred_label) {
  cv::Mat out = heat_map_overlay(rgb, anomaly_map);
  check_mask(pred_mask, rgb.size(), "pred_mask");
  draw_outline(out, pred_mask);

  double font_scale =
      std::clamp(std::min(rgb.cols, rgb.rows) / 400.0, 0.35, 1.5);
  draw_label(out, score_text(pred_score, pred_label), cv::Point(0, 0),
             font_scale, pred_label ? kAnomalousColour : kNormalColour);
  return out;
}

void write_image(const std::string& path, const cv::Mat& rgb) {
  if (rgb.empty()) throw Error(path, "cannot write an empty image");
  if (rgb.type() != CV_8UC3 && rgb.type() != CV_8UC1) {
    throw Error(path, "expected an 8-bit RGB (CV_8UC3) or gray image");
  }
  if (!cv::haveImageWriter(path)) {
    throw Error(path, "unknown image format (use .png, .jpg, .bmp, ...)");
  }
  fs::path parent = fs::path(path).parent_path();
  std::error_code error;
  if (!parent.empty()) fs::create_directories(parent, error);
  if (error) {
    throw Error(path, "cannot create folder " + parent.string() + ": " +
                          error.message());
  }

  cv::Mat out;  // never `= rgb`: cvtColor would then overwrite the input
  if (rgb.channels() == 3) {
    cv::cvtColor(rgb, out, cv::COLOR_RGB2BGR);
  } else {
    out = rgb;
  }
  bool written = false;
  try {
    written = cv::imwrite(path, out);
  } catch (const cv::Exception& e) {
    throw Error(path, "cannot write image: " + e.err);
  }
  if (!written) throw Error(path, "cannot write image");
}

}  // namespace vigil
