#include "models/embedding.h"

#include <opencv2/imgproc.hpp>

#include "vigil/error.h"

namespace vigil {
namespace {

// One channel of one image brought to the target grid.
cv::Mat channel_on_grid(const FeatureMap& tap, int image, int channel,
                        const EmbeddingOptions& options, cv::Size grid) {
  cv::Mat plane(tap.h, tap.w, CV_32FC1,
                const_cast<float*>(tap.at(image, channel)));
  cv::Mat pooled = plane;
  if (options.local_average) {
    // Normalised by 9 everywhere with zeros outside: PyTorch's AvgPool2d
    // with count_include_pad=True, as anomalib's feature pooler.
    cv::boxFilter(plane, pooled, -1, cv::Size(3, 3), cv::Point(-1, -1), true,
                  cv::BORDER_CONSTANT);
  }
  if (pooled.size() == grid) return pooled;
  cv::Mat resized;
  int mode = options.upsample == Upsample::kBilinear ? cv::INTER_LINEAR
                                                     : cv::INTER_NEAREST;
  cv::resize(pooled, resized, grid, 0, 0, mode);
  return resized;
}

}  // namespace

Embedding build_embedding(const std::vector<FeatureMap>& taps,
                          const EmbeddingOptions& options) {
  VIGIL_ASSERT(!taps.empty());
  Embedding e;
  e.n = taps[0].n, e.h = taps[0].h, e.w = taps[0].w;
  for (const FeatureMap& tap : taps) e.d += tap.c;
  e.data.resize(std::size_t(e.n) * e.h * e.w * e.d);
  cv::Size grid(e.w, e.h);
  const int patches = e.h * e.w;

  for (int i = 0; i < e.n; ++i) {
    int offset = 0;
    for (const FeatureMap& tap : taps) {
      for (int c = 0; c < tap.c; ++c) {
        cv::Mat plane = channel_on_grid(tap, i, c, options, grid);
        VIGIL_ASSERT(plane.isContinuous());
        const float* values = plane.ptr<float>();
        float* out = e.data.data() + std::size_t(i) * patches * e.d + offset;
        for (int p = 0; p < patches; ++p) out[std::size_t(p) * e.d] = values[p];
        ++offset;
      }
    }
  }
  return e;
}

}  // namespace vigil
