// Checks and loops shared by the metrics over anomaly maps and masks.
#pragma once

#include <cstdint>
#include <vector>

#include <opencv2/core.hpp>

#include "metrics/score_groups.h"

namespace vigil::metrics {

// Throws vigil::Error unless maps and masks pair up: as many of each, maps
// CV_32FC1, masks CV_8UC1, each mask the size of its map.
void check_maps(const std::vector<cv::Mat>& maps,
                const std::vector<cv::Mat>& masks);

// Throws vigil::Error unless labels has one 0-or-1 entry per score.
void check_labels(std::size_t n_scores,
                  const std::vector<std::uint8_t>& labels);

// Pass 1 of ScoreGroups over every pixel; a nonzero mask pixel is positive.
void count_pixels(const std::vector<cv::Mat>& maps,
                  const std::vector<cv::Mat>& masks, ScoreGroups* groups);

}  // namespace vigil::metrics
