// The training loop settings shared by the models that learn by gradient
// descent (FastFlow, EfficientAD, the EfficientAD teacher distillation).
//
//   vigil::TrainRequest req;
//   req.type = "fastflow";
//   req.options = {{"epochs", 50}, {"checkpoint", "ff.ckpt"},
//                  {"checkpoint_every", 200}, {"patience", 5}};
//
// Each of these JSON keys may appear in the options of those models, beside
// the model's own keys (see fastflow.h, efficientad.h). Defaults differ per
// model; they are stated where each model's options are.
//
//   epochs            passes over the training images; 0: no limit (then
//                     `steps` must be set).
//   steps             optimiser steps; 0: no limit (then `epochs` must be
//                     set). Training ends at whichever limit comes first.
//   batch_size        images per optimiser step.
//   learning_rate     Adam's step size.
//   weight_decay      Adam's L2 weight decay.
//   checkpoint        file for checkpoints (weights, optimiser state,
//                     random state, progress); "" writes none.
//   checkpoint_every  steps between checkpoints; 0: only at the end.
//   resume            continue from `checkpoint` when it exists. A resumed
//                     run ends with the same weights as an uninterrupted one;
//                     raising `steps` or `epochs` continues a finished run,
//                     unless it stopped early.
//   validate_every    steps between validation evaluations; 0: once per
//                     epoch.
//   patience          evaluations without a lower validation loss before
//                     training stops; 0: never stop early. With patience,
//                     the weights of the best evaluation are kept.
//   validation_fraction  share of the normal images held out for validation
//                     when the request has no validation images.
//   threads           LibTorch intra-op threads (process-wide); 0: leave
//                     LibTorch's default.
//   deterministic     ask LibTorch for deterministic algorithms. With the
//                     same seed, data, thread count and machine, training
//                     repeats bit for bit (the tests check it with one
//                     thread).
//
// Progress (epoch, step, loss, images/s, time left) is logged at info about
// every 10 s and at each validation.
//
// Thread-safety: training sets LibTorch's process-wide random seed and
// thread count, so two trainings in one process must not overlap.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vigil {

struct GradientTrainingOptions {
  int epochs = 0;
  std::int64_t steps = 0;
  int batch_size = 1;
  double learning_rate = 1e-3;
  double weight_decay = 1e-5;
  std::string checkpoint;
  std::int64_t checkpoint_every = 0;
  bool resume = false;
  std::int64_t validate_every = 0;
  int patience = 0;
  double validation_fraction = 0.1;
  int threads = 0;
  bool deterministic = false;
};

// What a training run did, for logs, reports and tests.
struct TrainingReport {
  std::int64_t steps = 0;                 // in total, resumed ones included
  int epochs = 0;                         // begun
  std::vector<double> losses;             // per step of this run
  std::vector<double> validation_losses;  // per evaluation of this run
  double best_validation_loss = 0.0;      // NaN without validation
  bool stopped_early = false;
  double seconds = 0.0;  // this run's
};

}  // namespace vigil
