// EfficientAD (Batzner, Heckler, König, "EfficientAD: Accurate Visual
// Anomaly Detection at Millisecond-Level Latencies", WACV 2024), as
// anomalib builds it: a frozen teacher patch description network (PDN), a
// student PDN with twice its output channels, and an autoencoder.
//
//   vigil::TrainRequest req;
//   req.type = "efficientad";
//   req.preprocess.resize_height = req.preprocess.height = 256;  // paper
//   req.preprocess.resize_width = req.preprocess.width = 256;
//   req.options = {{"teacher", "teacher_small.vigil-teacher"},
//                  {"steps", 70000}};
//   auto model = vigil::train_model(req, normal_images);
//
// The networks read the preprocessed image directly; anomalib normalises
// with ImageNet's mean and std inside them, which vigil's default
// Preprocess already does. The student's first `teacher_channels` outputs
// learn the teacher's (channel-normalised) features with the hard-feature
// loss; its last ones learn the autoencoder's output on augmented images
// (brightness, contrast or saturation by a factor in [0.8, 1.2]).
// Maps (n x height x width): st = mean_c((teacher - student[:C])^2) and
// ae = mean_c((autoencoder - student[C:])^2), padded by 4 cells when the
// PDN is unpadded (pad_maps), upsampled bilinearly to the input size, each
// mapped by 0.1 * (map - qa) / (qb - qa) with its quantiles qa (0.9) and qb
// (0.995) over validation images, combined as 0.5 * st + 0.5 * ae. The
// image score is the map's maximum.
//
// The penalty term: the paper draws one ImageNet image per step and adds
// mean(student(image)[:C]^2) to the loss, so the student does not imitate
// the teacher outside the normal images. There is no ImageNet here:
// `penalty_images` names any folder of varied images (resized to twice the
// input size, centre-cropped, 30 % turned gray, as anomalib). Without it the
// penalty term is skipped, and a warning says so; the student then may
// also learn to imitate the teacher on defects, which lowers detection.
//
// The teacher: a teacher file (below), "random" (an untrained teacher, for
// tests only), or one of these, best first:
//  1. anomalib's pretrained teacher (WideResNet-101 distilled over
//     ImageNet), converted: its state dict has the tensor names below, so
//     safetensors' save_file(state_dict, path, metadata={"vigil_teacher":
//     '{"model_size": "small", "channels": 384}'}) makes a teacher file.
//  2. distill_teacher() (`vigil distill`) from a strong ONNX backbone (e.g.
//     WideResNet-101's layer2 and layer3) over a large, varied folder
//     (ImageNet-like) at 256 px; the paper's schedule is GPU work.
//  3. distill_teacher() from a small backbone (MobileNetV2) over the normal
//     images themselves: minutes on a CPU, and weaker.
// Without padding the networks need inputs of at least 64 x 64 px. Below
// 256 px (not in the paper) the autoencoder's last encoder kernel shrinks
// to keep its 1 x 1 bottleneck; at 256 px and above it is the paper's.
//
// Options (TrainRequest::options, JSON; unknown keys are an error):
//   model_size        "small" or "medium". Default "small".
//   teacher           teacher file, or "random". Required.
//   teacher_channels  the teacher's output channels. Default 384 (paper).
//   padding           zero padding in the PDN's convolutions. Default false.
//   pad_maps          pad the maps back by 4 cells (unpadded PDN only).
//                     Default true.
//   penalty_images    folder of penalty images; "" skips the penalty.
//   hard_quantile     the hard-feature loss quantile. Default 0.999.
//   map_quantile_a, map_quantile_b   Defaults 0.9 and 0.995 (paper).
// and the loop keys of vigil/gradient_training.h, with these defaults:
//   epochs 0, steps 70000, batch_size 1, learning_rate 1e-4,
//   weight_decay 1e-5 (paper, anomalib; the learning rate drops to a tenth
//   after 95 % of the steps), validate_every 0 (each epoch), patience 0,
//   validation_fraction 0.1. The validation loss is the student-teacher
//   hard loss plus both autoencoder losses, without augmentation. As the
//   learning-rate drop depends on them, a checkpoint resumes only with the
//   same steps and epochs.
// Validation images (TrainRequest::validation, else validation_fraction of
// the normal images held out) set the map quantiles and, with patience,
// stop training. Cost: about 3 student and 2 teacher passes, an autoencoder
// pass and their backward passes per image and step; on a CPU core a step
// at 256 px takes seconds, so the paper's 70,000 steps take days there.
//
// Teacher file: a vigil::TensorFile with the PDN's tensors
//   conv<i>.weight, conv<i>.bias   (i = 1..4 small, 1..6 medium)
// in anomalib's shapes, and metadata["vigil_teacher"], a JSON object:
//   {"model_size": "small", "channels": 384, "preprocess": {...}, ...}
// where "preprocess" (vigil::to_json(Preprocess)) is the normalisation the
// teacher expects; absent means vigil's defaults (ImageNet mean and std).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "vigil/backbone.h"
#include "vigil/gradient_training.h"
#include "vigil/preprocess.h"
#include "vigil/training.h"

namespace vigil {

struct EfficientAdOptions {
  std::string model_size = "small";
  std::string teacher;
  int teacher_channels = 384;
  bool padding = false;
  bool pad_maps = true;
  std::string penalty_images;
  double hard_quantile = 0.999;
  double map_quantile_a = 0.9;
  double map_quantile_b = 0.995;
  GradientTrainingOptions training = default_training();

  static GradientTrainingOptions default_training() {
    GradientTrainingOptions t;
    t.steps = 70000;
    t.batch_size = 1;
    t.learning_rate = 1e-4;
    t.weight_decay = 1e-5;
    return t;
  }
};

// Throws vigil::Error naming a bad or unknown key.
EfficientAdOptions efficientad_options_from_json(const nlohmann::json& j);
nlohmann::json to_json(const EfficientAdOptions& o);

// What train_model() runs for type "efficientad" (`backbone` is ignored);
// fills `report` when given. Throws vigil::Error for bad options, an
// unreadable or mismatched teacher file, too small an input, too few
// images, or a checkpoint of another configuration.
std::unique_ptr<Model> train_efficientad(const TrainRequest& request,
                                         const TrainingSet& normal,
                                         std::unique_ptr<Backbone> backbone,
                                         TrainingReport* report = nullptr);

// The hard-feature loss of the student: the mean of the squared distances
// `distances` (n floats, any order) that are at least their `quantile`
// (linear interpolation between order statistics, as torch.quantile).
// Above 2^24 values, a random subset of 2^24 is used (as anomalib).
float hard_feature_loss(const float* distances, std::size_t n, double quantile);

// Two quantiles of a set of map values (linear interpolation).
struct MapQuantiles {
  float a = 0.0f;  // e.g. the 0.9 quantile, mapped to 0
  float b = 0.0f;  // e.g. the 0.995 quantile, mapped to 0.1
};
// values: n floats (the pixels of all validation maps), any order.
MapQuantiles map_quantiles(const float* values, std::size_t n, double qa,
                           double qb);
// map[i] = 0.1 * (map[i] - q.a) / (q.b - q.a), in place, for n floats.
void normalize_map(float* map, std::size_t n, const MapQuantiles& q);

// Distilling a teacher PDN from a frozen backbone (the paper distills
// WideResNet-101 over ImageNet). Each image is resized to image_size x
// image_size and preprocessed with `preprocess`'s normalisation; the
// backbone's taps are sampled bilinearly at the centres of the PDN's output
// cells (each sees a 33 x 33 px patch, stride 4), concatenated, standardised
// per channel (mean and std over `stats_images` images), and mapped to
// `channels` by a fixed random semi-orthogonal matrix drawn from `seed`.
// Why a projection rather than the first 384 channels: the taps of small
// backbones have fewer channels in all (MobileNetV2's four: 312), and
// truncating would drop whole taps; an orthonormal projection keeps the
// distances between patch features (exactly when there are fewer channels
// than `channels`, approximately otherwise). The PDN (unpadded; the file
// serves padded students as well) regresses the target with the mean
// squared error and Adam.
struct DistillOptions {
  BackboneOptions backbone;          // the ONNX file and its taps
  std::string images;                // folder of images (not recursive)
  std::string model_size = "small";  // "small" or "medium"
  int channels = 384;
  int image_size = 256;
  Preprocess preprocess;  // only its scale, mean, std and bgr are used
  int stats_images = 100;
  std::uint64_t seed = 0;
  std::string output;  // the teacher file to write
  // Defaults from the paper's teacher training: 60,000 steps of 16 images,
  // learning rate 1e-4, weight decay 1e-5 (days on a CPU; set fewer).
  GradientTrainingOptions training = default_training();

  static GradientTrainingOptions default_training() {
    GradientTrainingOptions t;
    t.steps = 60000;
    t.batch_size = 16;
    t.learning_rate = 1e-4;
    t.weight_decay = 1e-5;
    t.validation_fraction = 0.05;
    return t;
  }
};

struct DistillResult {
  std::int64_t steps = 0;
  int images = 0;                // training images (excluding validation)
  double last_loss = 0.0;        // mean squared error of the last step
  double validation_loss = 0.0;  // on the held-out images, at the end
  double seconds = 0.0;
};

// Trains a teacher and writes it to options.output. Throws vigil::Error
// naming the folder, the backbone or the output file on failure, or the
// option that is out of range. Logs progress; not thread-safe (see
// vigil/gradient_training.h).
DistillResult distill_teacher(const DistillOptions& options);

}  // namespace vigil
