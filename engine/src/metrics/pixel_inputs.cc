#include "metrics/pixel_inputs.h"

#include <string>

#include "vigil/error.h"

namespace vigil::metrics {

void check_maps(const std::vector<cv::Mat>& maps,
                const std::vector<cv::Mat>& masks) {
  if (maps.size() != masks.size()) {
    throw Error("masks", std::to_string(masks.size()) + " masks for " +
                             std::to_string(maps.size()) + " anomaly maps");
  }
  for (std::size_t i = 0; i < maps.size(); ++i) {
    const std::string what = "anomaly map " + std::to_string(i);
    if (maps[i].type() != CV_32FC1) {
      throw Error(what, "must be CV_32FC1");
    }
    if (masks[i].type() != CV_8UC1) {
      throw Error("mask " + std::to_string(i), "must be CV_8UC1");
    }
    if (maps[i].size() != masks[i].size()) {
      throw Error(what, "size differs from its mask's");
    }
  }
}

void check_labels(std::size_t n_scores,
                  const std::vector<std::uint8_t>& labels) {
  if (labels.size() != n_scores) {
    throw Error("labels", std::to_string(labels.size()) + " labels for " +
                              std::to_string(n_scores) + " scores");
  }
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] > 1) {
      throw Error("labels", "label " + std::to_string(i) + " is " +
                                std::to_string(labels[i]) + ", must be 0 or 1");
    }
  }
}

void count_pixels(const std::vector<cv::Mat>& maps,
                  const std::vector<cv::Mat>& masks, ScoreGroups* groups) {
  for (std::size_t i = 0; i < maps.size(); ++i) {
    for (int y = 0; y < maps[i].rows; ++y) {
      const float* score = maps[i].ptr<float>(y);
      const std::uint8_t* mask = masks[i].ptr<std::uint8_t>(y);
      for (int x = 0; x < maps[i].cols; ++x) {
        groups->count(score[x], mask[x] != 0);
      }
    }
  }
}

}  // namespace vigil::metrics
