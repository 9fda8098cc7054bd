// FastFlow (Yu et al., "FastFlow: Unsupervised Anomaly Detection and
// Localization via 2D Normalizing Flows", 2021), as anomalib builds it for
// CNN backbones: the frozen backbone's taps, each normalised by a learned
// LayerNorm over channels x height x width, each mapped by its own 2-D
// normalising flow to a standard normal. A patch is anomalous where its
// likelihood is low.
//
//   vigil::TrainRequest req;
//   req.type = "fastflow";
//   req.backbone = {"mobilenetv2.onnx", {"339", "365", "426"}};
//   req.options = {{"epochs", 50}};
//   auto model = vigil::train_model(req, normal_images);
//
// The flow of one scale is `flow_steps` steps, each FrEIA's AllInOneBlock
// with hard permutations (see FlowStack below). Training minimises the
// negative log-likelihood, summed over scales and averaged over images:
//   loss = sum_scales mean_images(0.5 * sum(z^2) - log|det dz/dx|),
// with Adam. The backbone's features are computed once and kept in memory
// (about 4 * sum(c * h * w) bytes per image).
// Anomaly map: per scale, p = exp(-0.5 * mean_channels(z^2)); -p is
// upsampled bilinearly (half-pixel centres) to the input size; the map is
// the mean over scales, in [-1, 0], higher = more anomalous. The image
// score is the map's maximum.
//
// Options (TrainRequest::options, JSON; unknown keys are an error):
//   flow_steps     flow steps per scale. Default 8 (paper, anomalib).
//   hidden_ratio   subnet hidden channels / input channels. Default 1.0.
//   clamp          soft clamp of the log-scale (alpha). Default 2.0.
//   conv3x3_only   every subnet 3x3; otherwise 3x3 and 1x1 alternate
//                  (3x3 first). Default false.
// and the loop keys of vigil/gradient_training.h, with these defaults:
//   epochs 500, steps 0, batch_size 32, learning_rate 1e-3,
//   weight_decay 1e-5 (anomalib), validate_every 0 (each epoch),
//   patience 3 (anomalib stops after 3 epochs without improvement; here
//   the criterion is the validation loss, the negative log-likelihood of
//   TrainRequest::validation, or of validation_fraction 0.1 of the normal
//   images held out when there is none), threads 0, deterministic false.
// The permutations and initial weights are drawn with TrainRequest::seed.
//
// Model file tensors (vigil/tensor_file.h), for scale j and step i:
//   scale<j>.norm.weight, scale<j>.norm.bias      c x h x w
//   scale<j>.flow.step<i>.{conv1,conv2}.{weight,bias}, .global_scale,
//   .global_offset (1 x c x 1 x 1), .perm (c, int64) - see FlowStack.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vigil/gradient_training.h"
#include "vigil/tensor_file.h"
#include "vigil/training.h"

namespace vigil {

struct FastFlowOptions {
  int flow_steps = 8;
  double hidden_ratio = 1.0;
  double clamp = 2.0;
  bool conv3x3_only = false;
  GradientTrainingOptions training = default_training();

  static GradientTrainingOptions default_training() {
    GradientTrainingOptions t;
    t.epochs = 500;
    t.batch_size = 32;
    t.learning_rate = 1e-3;
    t.weight_decay = 1e-5;
    t.patience = 3;
    return t;
  }
};

// Throws vigil::Error naming a bad or unknown key.
FastFlowOptions fastflow_options_from_json(const nlohmann::json& j);
nlohmann::json to_json(const FastFlowOptions& o);

// What train_model() runs for type "fastflow"; fills `report` when given.
// Throws vigil::Error for bad options, no backbone, validation images of
// another size, or a checkpoint of another configuration.
std::unique_ptr<Model> train_fastflow(const TrainRequest& request,
                                      const TrainingSet& normal,
                                      std::unique_ptr<Backbone> backbone,
                                      TrainingReport* report = nullptr);

// The feature shape one flow maps: channels x height x width.
struct FlowShape {
  int channels = 0, height = 0, width = 0;
};

// One scale's normalising flow, on its own: for tests, and to read what
// the ONNX exporter must reproduce. Step i (kernel k = 3, or 1 for odd i
// unless conv3x3_only) maps x (n x c x h x w) to z as FrEIA's AllInOneBlock:
//   c1 = c - c / 2, c2 = c / 2; x1, x2 = first c1 and last c2 channels
//   a  = 0.1 * conv2(relu(conv1(x1)))        (k x k, zero padding k / 2;
//        conv1: c1 -> int(c1 * hidden_ratio), conv2: -> 2 * c2)
//   s  = clamp * tanh(a[:c2]);  y2 = x2 * exp(s) + a[c2:]
//   g  = 0.2 * log(1 + exp(0.5 * global_scale))   (1.0 at initialisation)
//   u  = concat(x1, y2) * g + global_offset;  z[:, j] = u[:, perm[j]]
//   log|det| = sum(s) + h * w * sum(log g)
// Not thread-safe for writes (read_tensors); forward and inverse may run
// concurrently.
class FlowStack {
 public:
  // Initial weights and permutations come from `seed` (LibTorch's global
  // generator is reseeded).
  FlowStack(const FlowShape& shape, const FastFlowOptions& options,
            std::uint64_t seed);
  ~FlowStack();
  FlowStack(FlowStack&&) noexcept;
  FlowStack& operator=(FlowStack&&) noexcept;

  // x and z: n x c x h x w, row-major, float32. Returns log|det dz/dx| per
  // image (n floats).
  std::vector<float> forward(const float* x, int n, float* z) const;
  // The exact inverse: z to x.
  void inverse(const float* z, int n, float* x) const;

  // Tensors named prefix + "step<i>.conv1.weight" etc. read_tensors throws
  // vigil::Error naming a missing or misshapen tensor.
  void write_tensors(TensorFile& file, const std::string& prefix) const;
  void read_tensors(const TensorFile& file, const std::string& prefix);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil
