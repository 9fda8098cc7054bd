// The check shared by the save-and-reload tests of the models trained by
// gradient descent: a model read back from its file scores as the model
// that was saved.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>

#include "vigil/model.h"
#include "vigil/training.h"

namespace vigil::testing {

// Scores `probe` with both models; expects the maps (n x h x w) and image
// scores to agree to 1e-6 and each image score to be its map's maximum.
// Returns the saved model's output for further checks.
inline RawOutput expect_same_scores(const Model& saved, const Model& reloaded,
                                    const TrainingSet& probe) {
  const int n = probe.n, h = probe.height, w = probe.width;
  RawOutput a = saved.score(probe.images.data(), n, h, w);
  RawOutput b = reloaded.score(probe.images.data(), n, h, w);

  const std::size_t pixels = std::size_t(h) * w;
  EXPECT_EQ(a.anomaly_maps.size(), n * pixels);
  EXPECT_EQ(b.anomaly_maps.size(), a.anomaly_maps.size());
  for (std::size_t i = 0; i < a.anomaly_maps.size(); ++i) {
    EXPECT_NEAR(a.anomaly_maps[i], b.anomaly_maps[i], 1e-6) << "pixel " << i;
  }
  for (int i = 0; i < n; ++i) {
    EXPECT_NEAR(a.image_scores[i], b.image_scores[i], 1e-6);
    const float* map = a.anomaly_maps.data() + i * pixels;
    EXPECT_EQ(a.image_scores[i], *std::max_element(map, map + pixels));
  }
  return a;
}

}  // namespace vigil::testing
