// A frozen ImageNet CNN, given as an ONNX file, used as a feature extractor.
//
//   vigil::BackboneOptions opt;
//   opt.path = "mobilenetv2-fp32-dequantized.onnx";
//   opt.layers = {"365", "426"};
//   auto backbone = vigil::Backbone::open(opt);
//   std::vector<vigil::FeatureMap> taps = backbone->extract(x.data(), n, h, w);
//
// open() cuts the graph at the tap tensors: every node the taps do not need
// (the classifier head) is removed, the taps become the graph's outputs, and
// the input's height and width become free, so any size a convolutional
// graph accepts runs. Runs on ONNX Runtime on the CPU.
// extract() is safe to call from several threads at once (ONNX Runtime
// sessions allow concurrent Run calls).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace vigil {

// One tap's output for a batch: n x c x h x w, row-major (NCHW), float32.
struct FeatureMap {
  std::string name;
  int n = 0, c = 0, h = 0, w = 0;
  std::vector<float> data;

  const float* at(int image, int channel) const {
    return data.data() + (std::size_t(image) * c + channel) * h * w;
  }
};

struct BackboneOptions {
  std::string path;                 // the ONNX file
  std::vector<std::string> layers;  // tap tensor names, e.g. {"365", "426"}
  // ONNX Runtime intra-op threads; 0 lets ONNX Runtime choose (all cores).
  int threads = 0;
};

class Backbone {
 public:
  // Throws vigil::Error naming the file: missing, not ONNX, a tap name that
  // is not a tensor of the graph, a tap that is not float32.
  static std::unique_ptr<Backbone> open(const BackboneOptions& options);
  virtual ~Backbone() = default;

  // images: n x 3 x height x width, row-major, float32, preprocessed.
  // Returns one FeatureMap per tap, in the order of options.layers.
  virtual std::vector<FeatureMap> extract(const float* images, int n,
                                          int height, int width) const = 0;

  virtual const BackboneOptions& options() const = 0;
  // SHA-256 of the ONNX file, lower-case hex.
  virtual const std::string& sha256() const = 0;
};

// SHA-256 of a file's bytes, lower-case hex. Throws vigil::Error naming the
// file if it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace vigil
