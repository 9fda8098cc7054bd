// Pictures of a prediction, for people: the heat map over the image, the
// predicted defect outlined, and a panel view like anomalib's
// ImageVisualizer.
//
//   vigil::Verdict v = detector->predict(rgb);
//   cv::Mat panels = vigil::visualize_full(rgb, gt_mask, v.anomaly_map,
//                                          v.pred_mask, v.pred_score,
//                                          v.pred_label);
//   vigil::write_image("out/part_017.png", panels);
//
// Every image here is CV_8UC3 in RGB order, row-major (as read_image
// returns). anomaly_map is CV_32FC1 in [0, 1] (values outside are clipped);
// masks are CV_8UC1, any non-zero value marks a defect (0/1 and 0/255 both
// work). Maps and masks must have the image's size. Functions return new
// images and keep no state, so they are safe to call from several threads.
// They throw vigil::Error naming the argument for a wrong size or type.
#pragma once

#include <string>

#include <opencv2/core.hpp>

namespace vigil {

// Panel size limits of visualize_full, in pixels of the longer side: small
// images are enlarged so titles fit, large ones shrunk to keep files small.
inline constexpr int kMinPanelSide = 256;
inline constexpr int kMaxPanelSide = 512;

// The anomaly map in the JET colour map blended over the image:
// 0.4 * colour + 0.6 * image. Same size as `rgb`.
cv::Mat heat_map_overlay(const cv::Mat& rgb, const cv::Mat& anomaly_map);

// The image with the outline of every predicted region drawn in red (on the
// region's own border pixels, so a defect's extent stays visible). Same
// size as `rgb`.
cv::Mat draw_segmentation(const cv::Mat& rgb, const cv::Mat& pred_mask);

// Panels side by side, each under a title: Image, Ground Truth (only when
// `gt_mask` is not empty), Predicted Heat Map, Predicted Mask, Segmentation
// Result; above them a bar with the verdict and pred_score. Panels are
// scaled so that their longer side is between kMinPanelSide and
// kMaxPanelSide pixels.
cv::Mat visualize_full(const cv::Mat& rgb, const cv::Mat& gt_mask,
                       const cv::Mat& anomaly_map, const cv::Mat& pred_mask,
                       float pred_score, bool pred_label);

// One picture at the image's own size: the heat map overlay with the
// predicted regions outlined and the verdict and pred_score written in the
// top-left corner.
cv::Mat visualize_simple(const cv::Mat& rgb, const cv::Mat& anomaly_map,
                         const cv::Mat& pred_mask, float pred_score,
                         bool pred_label);

// Writes an RGB image (or a CV_8UC1 gray one) to `path`, in the format its
// extension names, creating missing parent folders. Throws vigil::Error
// naming the path if the folder cannot be made, the extension is unknown,
// or the write fails.
void write_image(const std::string& path, const cv::Mat& rgb);

}  // namespace vigil
