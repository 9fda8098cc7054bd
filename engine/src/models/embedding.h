// Patch embeddings from backbone taps, shared by PatchCore and PaDiM.
#pragma once

#include <vector>

#include "vigil/backbone.h"

namespace vigil {

enum class Upsample { kBilinear, kNearest };

struct EmbeddingOptions {
  // 3 x 3 average pooling (stride 1, zero padding counted) of each tap
  // before upsampling: PatchCore's locally aware patch features.
  bool local_average = false;
  // How deeper taps are brought to the first tap's grid.
  Upsample upsample = Upsample::kBilinear;
};

// Patch embeddings of a batch: n x (h * w) x d, row-major, float32, where
// h x w is the first tap's grid and d the sum of the taps' channels (in tap
// order). Patch (y, x) of image i starts at ((i * h + y) * w + x) * d.
struct Embedding {
  int n = 0, h = 0, w = 0, d = 0;
  std::vector<float> data;

  const float* patch(int image, int index) const {
    return data.data() + (std::size_t(image) * h * w + index) * d;
  }
};

Embedding build_embedding(const std::vector<FeatureMap>& taps,
                          const EmbeddingOptions& options);

}  // namespace vigil
