// A Backbone that returns fixed feature maps, so that model arithmetic can
// be checked by hand without a network.
#pragma once

#include <vector>

#include "vigil/backbone.h"

namespace vigil::testing {

// Returns, for image i of a batch, the planes given for the i-th call
// position: features[i] is c x h x w (row-major) for one tap. The image
// content is read only for its first value, which selects the feature
// set: image k (first value == k) gets features[k].
class FakeBackbone : public Backbone {
 public:
  FakeBackbone(int c, int h, int w, std::vector<std::vector<float>> features)
      : c_(c), h_(h), w_(w), features_(std::move(features)) {
    options_.layers = {"fake"};
  }

  std::vector<FeatureMap> extract(const float* images, int n, int height,
                                  int width) const override {
    FeatureMap map{"fake", n, c_, h_, w_, {}};
    for (int i = 0; i < n; ++i) {
      int k = static_cast<int>(images[std::size_t(i) * 3 * height * width]);
      map.data.insert(map.data.end(), features_[k].begin(), features_[k].end());
    }
    return {map};
  }
  const BackboneOptions& options() const override { return options_; }
  const std::string& sha256() const override { return sha256_; }

 private:
  int c_, h_, w_;
  std::vector<std::vector<float>> features_;
  BackboneOptions options_;
  std::string sha256_ = "fake";
};

}  // namespace vigil::testing
