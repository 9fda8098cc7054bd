#include "models/anomaly_map.h"

#include <opencv2/imgproc.hpp>

namespace vigil {

void grid_to_anomaly_map(const float* grid, int grid_h, int grid_w, int out_h,
                         int out_w, float sigma, float* out) {
  cv::Mat scores(grid_h, grid_w, CV_32FC1, const_cast<float*>(grid));
  cv::Mat result(out_h, out_w, CV_32FC1, out);
  cv::resize(scores, result, result.size(), 0, 0, cv::INTER_LINEAR);
  if (sigma <= 0.0f) return;
  int kernel = 2 * static_cast<int>(4.0f * sigma + 0.5f) + 1;
  cv::GaussianBlur(result, result, cv::Size(kernel, kernel), sigma, sigma,
                   cv::BORDER_REFLECT_101);
}

}  // namespace vigil
