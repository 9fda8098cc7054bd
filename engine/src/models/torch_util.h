// LibTorch helpers shared by the models trained by gradient descent
// (FastFlow, EfficientAD): tensors to and from vigil's buffers and model
// files, seeding and threads, and the training loop with progress logs,
// checkpoints, resume and early stopping.
//
// LibTorch headers stay inside engine/src/models/{fastflow,efficientad} and
// this file; public headers never include them.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/optim/adam.h>
#include <torch/serialize/archive.h>
#include <torch/types.h>

#include "vigil/backbone.h"
#include "vigil/gradient_training.h"
#include "vigil/tensor_file.h"

namespace vigil {

// A float32 tensor of `shape` holding a copy of `data` (prod(shape)
// floats, row-major).
torch::Tensor tensor_from(const float* data,
                          const std::vector<std::int64_t>& shape);
// One tap's features: n x c x h x w float32 (a copy).
torch::Tensor tensor_from(const FeatureMap& map);
// The backbone's taps for n x 3 x height x width float32 images, one
// n x c x h x w tensor per tap, in the backbone's layer order.
std::vector<torch::Tensor> extract_taps(const Backbone& backbone,
                                        const float* images, int n, int height,
                                        int width);
// The tensor's values as a row-major float32 vector.
std::vector<float> to_floats(const torch::Tensor& t);

// Adds every parameter and buffer of `module`, named prefix + its dotted
// name ("student.conv1.weight"), float32 as F32 and int64 as I64.
void write_module(const torch::nn::Module& module, const std::string& prefix,
                  TensorFile& file);
// Copies them back into `module`. Throws vigil::Error naming a missing
// tensor, or one whose dtype or shape differs from the module's.
void read_module(torch::nn::Module& module, const std::string& prefix,
                 const TensorFile& file);

// Seeds LibTorch's global generator and applies `threads` and
// `deterministic` (process-wide; see vigil/gradient_training.h).
void setup_torch(const GradientTrainingOptions& options, std::uint64_t seed);

// Indices 0..n-1 split at random (with `seed`) into a training part and a
// validation part of round(n * fraction) indices, at least one each.
// Requires n >= 2. Both parts are sorted.
struct IndexSplit {
  std::vector<std::int64_t> train, validation;
};
IndexSplit holdout_split(std::int64_t n, double fraction, std::uint64_t seed);

// The elements of `t`, flattened; a random subset of `max_elements` of them
// (drawn from the global generator) when there are more. torch::quantile
// refuses inputs above 2^24 elements.
torch::Tensor flat_sample(const torch::Tensor& t,
                          std::int64_t max_elements = std::int64_t(1) << 24);

torch::optim::Adam make_adam(std::vector<torch::Tensor> parameters,
                             const GradientTrainingOptions& options);
// Sets the learning rate of every parameter group.
void set_learning_rate(torch::optim::Adam& adam, double learning_rate);

// One info line: steps, epochs, images, time, last and best losses.
void log_summary(const std::string& name, const TrainingReport& report,
                 std::int64_t n_items);

// The number of steps run_training_loop takes over `n_items` items
// (without early stopping).
std::int64_t training_step_limit(const GradientTrainingOptions& options,
                                 std::int64_t n_items);

// What the training loop calls; see run_training_loop.
struct TrainHooks {
  // One optimiser step on the training items `batch` (indices); `step`
  // counts from 0. Returns the loss.
  std::function<double(const std::vector<std::int64_t>& batch,
                       std::int64_t step)>
      train_step;
  // The loss on the validation items; empty when there are none.
  std::function<double()> validation_loss;
  // Everything a resumed run needs beyond the loop's own state: weights,
  // buffers, optimiser state.
  std::function<void(torch::serialize::OutputArchive&)> save;
  std::function<void(torch::serialize::InputArchive&)> load;
};

// Runs optimiser steps over `n_items` training items in batches of
// options.batch_size, in a fresh random order each epoch (drawn from
// `seed` and the epoch number, so a resumed run sees the same order).
// Validates, stops early and checkpoints as `options` says. `name` prefixes
// the log lines; `fingerprint` (the model's configuration) is stored in
// checkpoints, and resuming from a checkpoint with another fingerprint is a
// vigil::Error naming the file. `optimizer` (may be null) is saved in
// checkpoints with the weights. With patience, the weights of the best
// validation are restored at the end. A checkpoint of a run that stopped
// early resumes as stopped: its weights are returned, with no more steps.
TrainingReport run_training_loop(const std::string& name,
                                 const std::string& fingerprint,
                                 const GradientTrainingOptions& options,
                                 std::int64_t n_items, std::uint64_t seed,
                                 const TrainHooks& hooks,
                                 torch::optim::Optimizer* optimizer);

}  // namespace vigil
