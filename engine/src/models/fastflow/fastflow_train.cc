// Training FastFlow: features once through the frozen backbone, then Adam
// on the flows' negative log-likelihood.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <numeric>

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "models/builtin.h"
#include "models/fastflow/fastflow_model.h"
#include "models/gradient_options.h"
#include "models/torch_util.h"
#include "vigil/error.h"
#include "vigil/fastflow.h"
#include "vigil/stopwatch.h"
#include "vigil/training.h"

namespace vigil {
namespace {

std::vector<std::int64_t> all_indices(int n) {
  std::vector<std::int64_t> indices(n);
  std::iota(indices.begin(), indices.end(), 0);
  return indices;
}

// The backbone's taps for the images `indices` of `set`, one
// n x c x h x w tensor per tap.
std::vector<torch::Tensor> extract_features(
    const Backbone& backbone, const TrainingSet& set,
    const std::vector<std::int64_t>& indices, int batch_size) {
  const std::size_t image_floats = std::size_t(3) * set.height * set.width;
  std::vector<std::vector<torch::Tensor>> parts;
  std::vector<float> batch;
  for (std::size_t first = 0; first < indices.size(); first += batch_size) {
    std::size_t count =
        std::min<std::size_t>(batch_size, indices.size() - first);
    batch.resize(count * image_floats);
    for (std::size_t k = 0; k < count; ++k) {
      std::memcpy(batch.data() + k * image_floats,
                  set.image(int(indices[first + k])),
                  image_floats * sizeof(float));
    }
    parts.push_back(extract_taps(backbone, batch.data(), int(count), set.height,
                                 set.width));
  }
  std::vector<torch::Tensor> taps;
  for (std::size_t j = 0; !parts.empty() && j < parts[0].size(); ++j) {
    std::vector<torch::Tensor> pieces;
    for (const auto& part : parts) pieces.push_back(part[j]);
    taps.push_back(torch::cat(pieces, 0));
  }
  return taps;
}

struct FeatureSets {
  std::vector<torch::Tensor> train, validation;  // empty: none
};

FeatureSets feature_sets(const TrainRequest& request, const TrainingSet& normal,
                         const Backbone& backbone,
                         const FastFlowOptions& options) {
  const int batch = std::max(1, request.batch_size);
  FeatureSets sets;
  const TrainingSet* validation = request.validation;
  if (validation && (validation->height != normal.height ||
                     validation->width != normal.width)) {
    throw Error("fastflow",
                "validation images differ in size from the "
                "training images");
  }
  if (validation && validation->n > 0) {
    sets.train =
        extract_features(backbone, normal, all_indices(normal.n), batch);
    sets.validation = extract_features(backbone, *validation,
                                       all_indices(validation->n), batch);
  } else if (options.training.patience > 0) {
    if (normal.n < 2) {
      throw Error("fastflow",
                  "early stopping needs at least 2 normal "
                  "images or validation images");
    }
    IndexSplit split = holdout_split(
        normal.n, options.training.validation_fraction, request.seed);
    sets.train = extract_features(backbone, normal, split.train, batch);
    sets.validation =
        extract_features(backbone, normal, split.validation, batch);
  } else {
    sets.train =
        extract_features(backbone, normal, all_indices(normal.n), batch);
  }
  return sets;
}

std::vector<FastFlowTap> taps_of(const std::vector<torch::Tensor>& features,
                                 const Backbone& backbone) {
  std::vector<FastFlowTap> taps;
  const std::vector<std::string>& layers = backbone.options().layers;
  VIGIL_ASSERT(layers.size() == features.size());
  for (std::size_t j = 0; j < features.size(); ++j) {
    const torch::Tensor& f = features[j];
    taps.push_back({layers[j], f.size(1), f.size(2), f.size(3)});
  }
  return taps;
}

std::vector<torch::Tensor> select(const std::vector<torch::Tensor>& features,
                                  const torch::Tensor& rows) {
  std::vector<torch::Tensor> out;
  for (const torch::Tensor& f : features) {
    out.push_back(f.index_select(0, rows));
  }
  return out;
}

double validation_loss(FastFlowNet& net,
                       const std::vector<torch::Tensor>& features,
                       int batch_size) {
  torch::NoGradGuard no_grad;
  const std::int64_t n = features[0].size(0);
  double sum = 0.0;
  for (std::int64_t first = 0; first < n; first += batch_size) {
    std::int64_t last = std::min<std::int64_t>(n, first + batch_size);
    std::vector<torch::Tensor> part;
    for (const torch::Tensor& f : features) {
      part.push_back(f.slice(0, first, last));
    }
    sum +=
        fastflow_loss(net->forward(part)).item<double>() * double(last - first);
  }
  return sum / double(n);
}

// What a checkpoint must agree with to be resumed.
std::string fingerprint(const FastFlowOptions& options,
                        const std::vector<FastFlowTap>& taps,
                        const TrainRequest& request, std::int64_t n_train) {
  nlohmann::json j = to_json(options);
  for (const char* key : {"checkpoint", "checkpoint_every", "resume", "threads",
                          "epochs", "steps"}) {
    j.erase(key);
  }
  for (const FastFlowTap& t : taps) {
    j["taps"].push_back({t.layer, t.channels, t.height, t.width});
  }
  j["seed"] = request.seed;
  j["n_train"] = n_train;
  return j.dump();
}

}  // namespace

std::unique_ptr<Model> train_fastflow(const TrainRequest& request,
                                      const TrainingSet& normal,
                                      std::unique_ptr<Backbone> backbone,
                                      TrainingReport* report) {
  FastFlowOptions options = fastflow_options_from_json(request.options);
  if (!backbone) throw Error("fastflow", "needs a backbone (--backbone)");
  if (normal.n < 1) throw Error("fastflow", "no normal images");
  setup_torch(options.training, request.seed);

  auto start = Clock::now();
  FeatureSets sets = feature_sets(request, normal, *backbone, options);
  spdlog::info(
      "fastflow: backbone features of {} training and {} "
      "validation images in {:.1f} s",
      sets.train[0].size(0),
      sets.validation.empty() ? 0 : sets.validation[0].size(0),
      std::chrono::duration<double>(Clock::now() - start).count());
  std::vector<FastFlowTap> taps = taps_of(sets.train, *backbone);

  FastFlowNet net(taps, flow_params(options));
  net->train();
  torch::optim::Adam adam = make_adam(net->parameters(), options.training);
  TrainHooks hooks;
  hooks.train_step = [&](const std::vector<std::int64_t>& batch, std::int64_t) {
    torch::Tensor rows = torch::tensor(batch, torch::kLong);
    torch::Tensor loss = fastflow_loss(net->forward(select(sets.train, rows)));
    adam.zero_grad();
    loss.backward();
    adam.step();
    return loss.item<double>();
  };
  if (!sets.validation.empty()) {
    hooks.validation_loss = [&] {
      return validation_loss(net, sets.validation, options.training.batch_size);
    };
  }
  hooks.save = [&](torch::serialize::OutputArchive& a) { net->save(a); };
  hooks.load = [&](torch::serialize::InputArchive& a) { net->load(a); };

  const std::int64_t n_train = sets.train[0].size(0);
  TrainingReport summary = run_training_loop(
      "fastflow", fingerprint(options, taps, request, n_train),
      options.training, n_train, request.seed, hooks, &adam);
  log_summary("fastflow", summary, n_train);
  if (report) *report = summary;
  net->eval();
  return make_fastflow_model(options, std::move(taps), normal.height,
                             normal.width, std::move(net), std::move(backbone));
}

void register_fastflow() {
  register_trainer(
      "fastflow", [](const TrainRequest& request, const TrainingSet& normal,
                     std::unique_ptr<Backbone> backbone) {
        return train_fastflow(request, normal, std::move(backbone));
      });
  register_model_loader("fastflow", load_fastflow);
}

}  // namespace vigil
