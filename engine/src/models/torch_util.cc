#include "models/torch_util.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <mutex>
#include <sstream>

#include <spdlog/spdlog.h>

#include "vigil/error.h"
#include "vigil/stopwatch.h"

namespace vigil {
namespace {

std::vector<std::int64_t> shape_of(const torch::Tensor& t) {
  return std::vector<std::int64_t>(t.sizes().begin(), t.sizes().end());
}

void put_tensor(TensorFile& file, const std::string& name,
                const torch::Tensor& t) {
  torch::Tensor c = t.detach().contiguous();
  if (c.scalar_type() == torch::kLong) {
    file.put(name, shape_of(c), c.data_ptr<std::int64_t>());
    return;
  }
  c = c.to(torch::kFloat).contiguous();
  file.put(name, shape_of(c), c.data_ptr<float>());
}

void get_tensor(const TensorFile& file, const std::string& name,
                torch::Tensor& target) {
  std::vector<std::int64_t> shape = shape_of(target);
  torch::NoGradGuard no_grad;
  if (target.scalar_type() == torch::kLong) {
    const std::int64_t* data = file.i64(name, shape);
    target.copy_(
        torch::from_blob(const_cast<std::int64_t*>(data), shape, torch::kLong));
    return;
  }
  const float* data = file.f32(name, shape);
  target.copy_(torch::from_blob(const_cast<float*>(data), shape));
}

torch::Tensor bytes_tensor(const std::string& bytes) {
  return torch::from_blob(const_cast<char*>(bytes.data()),
                          {std::int64_t(bytes.size())}, torch::kUInt8)
      .clone();
}

std::string tensor_bytes(const torch::Tensor& t) {
  torch::Tensor c = t.contiguous();
  return std::string(reinterpret_cast<const char*>(c.data_ptr<std::uint8_t>()),
                     c.numel());
}

torch::Tensor global_rng_state() {
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  return generator.get_state();
}

void set_global_rng_state(const torch::Tensor& state) {
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(state);
}

// An epoch's order depends only on the seed and the epoch, not on how much
// random state earlier steps used, so a resumed run replays it exactly.
std::vector<std::int64_t> epoch_order(std::int64_t n, std::uint64_t seed,
                                      std::int64_t epoch) {
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(
      seed * 0x9E3779B97F4A7C15ULL + std::uint64_t(epoch) + 1);
  torch::Tensor order = torch::randperm(n, generator, torch::kLong);
  const std::int64_t* p = order.data_ptr<std::int64_t>();
  return std::vector<std::int64_t>(p, p + n);
}

std::string format_seconds(double seconds) {
  if (!std::isfinite(seconds)) return "?";
  long s = std::lround(seconds);
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600)
    return std::to_string(s / 60) + "m" + std::to_string(s % 60) + "s";
  return std::to_string(s / 3600) + "h" + std::to_string(s / 60 % 60) + "m";
}

// The loop's own progress, saved in checkpoints beside the model.
struct LoopState {
  std::int64_t step = 0;
  double best = std::numeric_limits<double>::infinity();
  std::int64_t evaluations_since_best = 0;
  bool stopped_early = false;
  std::string best_weights;  // serialised hooks.save archive, or empty
};

std::string serialise_weights(const TrainHooks& hooks) {
  torch::serialize::OutputArchive archive;
  hooks.save(archive);
  std::ostringstream out;
  archive.save_to(out);
  return out.str();
}

void restore_weights(const std::string& bytes, const TrainHooks& hooks) {
  std::istringstream in(bytes);
  torch::serialize::InputArchive archive;
  archive.load_from(in);
  hooks.load(archive);
}

torch::Tensor scalar(double v) { return torch::tensor({v}, torch::kDouble); }

double read_scalar(torch::serialize::InputArchive& a, const std::string& k) {
  torch::Tensor t;
  a.read(k, t);
  return t.item<double>();
}

void write_checkpoint(const std::string& path, const std::string& fingerprint,
                      const LoopState& state, const TrainHooks& hooks,
                      torch::optim::Optimizer* optimizer) {
  torch::serialize::OutputArchive archive, model, optim;
  archive.write("fingerprint", bytes_tensor(fingerprint));
  archive.write("step", scalar(double(state.step)));
  archive.write("best", scalar(state.best));
  archive.write("since_best", scalar(double(state.evaluations_since_best)));
  archive.write("stopped_early", scalar(state.stopped_early));
  archive.write("best_weights", bytes_tensor(state.best_weights));
  archive.write("rng", global_rng_state());
  hooks.save(model);
  archive.write("model", model);
  if (optimizer) optimizer->save(optim);
  archive.write("optimizer", optim);
  const std::string temporary = path + ".tmp";
  try {
    archive.save_to(temporary);
    std::filesystem::rename(temporary, path);
  } catch (const std::exception& e) {
    throw Error(path, std::string("cannot write checkpoint: ") + e.what());
  }
}

LoopState read_checkpoint(const std::string& path,
                          const std::string& fingerprint,
                          const TrainHooks& hooks,
                          torch::optim::Optimizer* optimizer) {
  torch::serialize::InputArchive archive, model, optim;
  torch::Tensor t;
  LoopState state;
  try {
    archive.load_from(path);
    archive.read("fingerprint", t);
    if (tensor_bytes(t) != fingerprint) {
      throw Error(path, "checkpoint of another model configuration");
    }
    state.step = std::llround(read_scalar(archive, "step"));
    state.best = read_scalar(archive, "best");
    state.evaluations_since_best =
        std::llround(read_scalar(archive, "since_best"));
    state.stopped_early = read_scalar(archive, "stopped_early") != 0.0;
    archive.read("best_weights", t);
    state.best_weights = tensor_bytes(t);
    archive.read("rng", t);
    set_global_rng_state(t);
    archive.read("model", model);
    hooks.load(model);
    archive.read("optimizer", optim);
    if (optimizer) optimizer->load(optim);
  } catch (const c10::Error& e) {
    throw Error(path, std::string("unreadable checkpoint: ") +
                          e.what_without_backtrace());
  }
  return state;
}

// Rolling numbers for the progress line.
struct Progress {
  Clock::time_point start = Clock::now();
  Clock::time_point last_log = start;
  std::int64_t first_step = 0;
  std::int64_t images = 0;
  double loss_sum = 0.0;
  int loss_count = 0;
};

}  // namespace

torch::Tensor tensor_from(const float* data,
                          const std::vector<std::int64_t>& shape) {
  return torch::from_blob(const_cast<float*>(data), shape).clone();
}

torch::Tensor tensor_from(const FeatureMap& map) {
  return tensor_from(map.data.data(), {map.n, map.c, map.h, map.w});
}

std::vector<torch::Tensor> extract_taps(const Backbone& backbone,
                                        const float* images, int n, int height,
                                        int width) {
  std::vector<torch::Tensor> taps;
  for (const FeatureMap& map : backbone.extract(images, n, height, width)) {
    taps.push_back(tensor_from(map));
  }
  return taps;
}

std::vector<float> to_floats(const torch::Tensor& t) {
  torch::Tensor c = t.detach().to(torch::kFloat).contiguous();
  return std::vector<float>(c.data_ptr<float>(),
                            c.data_ptr<float>() + c.numel());
}

void write_module(const torch::nn::Module& module, const std::string& prefix,
                  TensorFile& file) {
  for (const auto& item : module.named_parameters(true)) {
    put_tensor(file, prefix + item.key(), item.value());
  }
  for (const auto& item : module.named_buffers(true)) {
    put_tensor(file, prefix + item.key(), item.value());
  }
}

void read_module(torch::nn::Module& module, const std::string& prefix,
                 const TensorFile& file) {
  for (auto& item : module.named_parameters(true)) {
    get_tensor(file, prefix + item.key(), item.value());
  }
  for (auto& item : module.named_buffers(true)) {
    get_tensor(file, prefix + item.key(), item.value());
  }
}

void setup_torch(const GradientTrainingOptions& options, std::uint64_t seed) {
  if (options.threads > 0) torch::set_num_threads(options.threads);
  at::globalContext().setDeterministicAlgorithms(options.deterministic, false);
  torch::manual_seed(seed);
}

IndexSplit holdout_split(std::int64_t n, double fraction, std::uint64_t seed) {
  VIGIL_ASSERT(n >= 2);
  std::int64_t n_validation =
      std::clamp<std::int64_t>(std::llround(double(n) * fraction), 1, n - 1);
  std::vector<std::int64_t> order = epoch_order(n, seed ^ 0x5eed, -1);
  IndexSplit split;
  split.validation.assign(order.begin(), order.begin() + n_validation);
  split.train.assign(order.begin() + n_validation, order.end());
  std::sort(split.validation.begin(), split.validation.end());
  std::sort(split.train.begin(), split.train.end());
  return split;
}

torch::Tensor flat_sample(const torch::Tensor& t, std::int64_t max_elements) {
  torch::Tensor flat = t.flatten();
  if (flat.numel() <= max_elements) return flat;
  torch::Tensor pick =
      torch::randperm(flat.numel(), torch::kLong).slice(0, 0, max_elements);
  return flat.index_select(0, pick);
}

torch::optim::Adam make_adam(std::vector<torch::Tensor> parameters,
                             const GradientTrainingOptions& options) {
  return torch::optim::Adam(std::move(parameters),
                            torch::optim::AdamOptions(options.learning_rate)
                                .weight_decay(options.weight_decay));
}

void set_learning_rate(torch::optim::Adam& adam, double learning_rate) {
  for (auto& group : adam.param_groups()) {
    static_cast<torch::optim::AdamOptions&>(group.options()).lr(learning_rate);
  }
}

namespace {

std::int64_t steps_per_epoch(const GradientTrainingOptions& o,
                             std::int64_t n_items) {
  const std::int64_t batch = std::min<std::int64_t>(o.batch_size, n_items);
  return (n_items + batch - 1) / batch;
}

bool due(std::int64_t step, std::int64_t every) {
  return every > 0 && step % every == 0;
}

void log_progress(const std::string& name, Progress& p, std::int64_t step,
                  std::int64_t limit, std::int64_t epoch_steps) {
  double seconds =
      std::chrono::duration<double>(Clock::now() - p.start).count();
  double per_step = seconds / double(step - p.first_step);
  bool bounded = limit != std::numeric_limits<std::int64_t>::max();
  std::string steps =
      bounded ? fmt::format("{}/{}", step, limit) : fmt::format("{}", step);
  spdlog::info("{}: epoch {} step {} loss {:.5g} {:.1f} images/s, {} left",
               name, (step - 1) / epoch_steps + 1, steps,
               p.loss_sum / std::max(p.loss_count, 1), p.images / seconds,
               bounded ? format_seconds(per_step * double(limit - step))
                       : std::string("?"));
  p.last_log = Clock::now();
  p.loss_sum = 0.0;
  p.loss_count = 0;
}

// Returns true when training should stop early.
bool validate(const std::string& name, const GradientTrainingOptions& o,
              const TrainHooks& hooks, LoopState& state,
              TrainingReport& report) {
  double loss = hooks.validation_loss();
  report.validation_losses.push_back(loss);
  if (loss < state.best) {
    state.best = loss;
    state.evaluations_since_best = 0;
    if (o.patience > 0) state.best_weights = serialise_weights(hooks);
  } else {
    ++state.evaluations_since_best;
  }
  spdlog::info("{}: step {} validation loss {:.5g} (best {:.5g})", name,
               state.step, loss, state.best);
  return o.patience > 0 && state.evaluations_since_best >= o.patience;
}

}  // namespace

void log_summary(const std::string& name, const TrainingReport& report,
                 std::int64_t n_items) {
  std::string validation = std::isnan(report.best_validation_loss)
                               ? std::string()
                               : fmt::format(", best validation loss {:.5g}",
                                             report.best_validation_loss);
  spdlog::info(
      "{}: {} steps ({} epochs) on {} items in {:.1f} s, last loss "
      "{:.5g}{}{}",
      name, report.steps, report.epochs, n_items, report.seconds,
      report.losses.empty() ? 0.0 : report.losses.back(), validation,
      report.stopped_early ? " (stopped early)" : "");
}

std::int64_t training_step_limit(const GradientTrainingOptions& o,
                                 std::int64_t n_items) {
  std::int64_t limit =
      o.steps > 0 ? o.steps : std::numeric_limits<std::int64_t>::max();
  if (o.epochs > 0) {
    limit = std::min(limit, o.epochs * steps_per_epoch(o, n_items));
  }
  return limit;
}

TrainingReport run_training_loop(const std::string& name,
                                 const std::string& fingerprint,
                                 const GradientTrainingOptions& options,
                                 std::int64_t n_items, std::uint64_t seed,
                                 const TrainHooks& hooks,
                                 torch::optim::Optimizer* optimizer) {
  VIGIL_ASSERT(n_items > 0);
  VIGIL_ASSERT(options.patience == 0 || hooks.validation_loss);
  const std::int64_t batch =
      std::min<std::int64_t>(options.batch_size, n_items);
  const std::int64_t epoch_steps = steps_per_epoch(options, n_items);
  const std::int64_t limit = training_step_limit(options, n_items);
  const bool can_resume =
      options.resume && std::filesystem::exists(options.checkpoint);
  LoopState state;
  if (can_resume) {
    state = read_checkpoint(options.checkpoint, fingerprint, hooks, optimizer);
    spdlog::info("{}: resumed from {} at step {}", name, options.checkpoint,
                 state.step);
  }

  Progress progress;
  progress.first_step = state.step;
  std::vector<std::int64_t> order;
  std::int64_t order_epoch = -1;
  TrainingReport report;
  while (!state.stopped_early && state.step < limit) {
    const std::int64_t epoch = state.step / epoch_steps;
    if (epoch != order_epoch) {
      order = epoch_order(n_items, seed, epoch);
      order_epoch = epoch;
    }
    std::int64_t first = (state.step % epoch_steps) * batch;
    std::vector<std::int64_t> items(
        order.begin() + first,
        order.begin() + std::min(first + batch, n_items));
    report.losses.push_back(hooks.train_step(items, state.step));
    ++state.step;
    progress.images += std::int64_t(items.size());
    progress.loss_sum += report.losses.back();
    ++progress.loss_count;

    bool end_of_epoch = state.step % epoch_steps == 0;
    bool validation_due = options.validate_every > 0
                              ? due(state.step, options.validate_every)
                              : end_of_epoch;
    if (hooks.validation_loss && (validation_due || state.step == limit) &&
        validate(name, options, hooks, state, report)) {
      state.stopped_early = true;
      spdlog::info(
          "{}: stopped early at step {}: no better validation "
          "loss in {} evaluations",
          name, state.step, options.patience);
      break;
    }
    if (!options.checkpoint.empty() &&
        due(state.step, options.checkpoint_every) && state.step < limit) {
      write_checkpoint(options.checkpoint, fingerprint, state, hooks,
                       optimizer);
    }
    if (Clock::now() - progress.last_log > std::chrono::seconds(10) ||
        state.step == limit) {
      log_progress(name, progress, state.step, limit, epoch_steps);
    }
  }
  if (!options.checkpoint.empty()) {
    write_checkpoint(options.checkpoint, fingerprint, state, hooks, optimizer);
  }
  if (options.patience > 0 && !state.best_weights.empty()) {
    restore_weights(state.best_weights, hooks);
  }

  report.steps = state.step;
  report.epochs = int((state.step + epoch_steps - 1) / epoch_steps);
  report.best_validation_loss = hooks.validation_loss
                                    ? state.best
                                    : std::numeric_limits<double>::quiet_NaN();
  report.stopped_early = state.stopped_early;
  report.seconds =
      std::chrono::duration<double>(Clock::now() - progress.start).count();
  return report;
}

}  // namespace vigil
