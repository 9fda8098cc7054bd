// Training EfficientAD: teacher statistics, then Adam on the student and
// the autoencoder, then the map quantiles on validation images.
#include <chrono>
#include <cmath>
#include <memory>
#include <numeric>

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "models/builtin.h"
#include "models/efficientad/augment.h"
#include "models/efficientad/efficientad_model.h"
#include "models/gradient_options.h"
#include "models/torch_util.h"
#include "vigil/error.h"
#include "vigil/training.h"

namespace vigil {
namespace {

// The paper drops the learning rate to a tenth after 95 % of the steps.
constexpr double kDecayAt = 0.95;
constexpr double kDecayFactor = 0.1;

// Rows `rows` of a set's images, n x 3 x H x W (a copy).
torch::Tensor images_of(const TrainingSet& set,
                        const std::vector<std::int64_t>& rows) {
  torch::Tensor all = torch::from_blob(const_cast<float*>(set.images.data()),
                                       {set.n, 3, set.height, set.width});
  return all.index_select(0, torch::tensor(rows, torch::kLong));
}

std::vector<std::int64_t> range(std::int64_t first, std::int64_t last) {
  std::vector<std::int64_t> r(last - first);
  std::iota(r.begin(), r.end(), first);
  return r;
}

// Which images train and which validate.
struct Split {
  const TrainingSet* validation_set;
  std::vector<std::int64_t> train, validation;
};

Split split_images(const TrainRequest& request, const TrainingSet& normal,
                   const EfficientAdOptions& options) {
  const TrainingSet* v = request.validation;
  if (v && v->n > 0) {
    if (v->height != normal.height || v->width != normal.width) {
      throw Error("efficientad",
                  "validation images differ in size from "
                  "the training images");
    }
    return {v, range(0, normal.n), range(0, v->n)};
  }
  if (normal.n < 2) {
    throw Error("efficientad",
                "needs at least 2 normal images, or "
                "validation images, for the map quantiles");
  }
  IndexSplit s = holdout_split(normal.n, options.training.validation_fraction,
                               request.seed);
  return {&normal, s.train, s.validation};
}

// Channel mean and std of the teacher's outputs over `rows` of `set`.
void set_teacher_statistics(EfficientAdNet& net, const TrainingSet& set,
                            const std::vector<std::int64_t>& rows, int batch) {
  torch::NoGradGuard no_grad;
  torch::Tensor sum, squares;
  double count = 0.0;
  for (std::size_t first = 0; first < rows.size(); first += batch) {
    std::vector<std::int64_t> part(
        rows.begin() + first,
        rows.begin() + std::min(rows.size(), first + batch));
    torch::Tensor y =
        net->teacher->forward(images_of(set, part)).to(torch::kDouble);
    torch::Tensor s = y.sum({0, 2, 3}), q = y.pow(2).sum({0, 2, 3});
    sum = sum.defined() ? sum + s : s;
    squares = squares.defined() ? squares + q : q;
    count += double(y.size(0) * y.size(2) * y.size(3));
  }
  torch::Tensor mean = sum / count;
  torch::Tensor std = (squares / count - mean.pow(2)).clamp_min(0).sqrt();
  net->teacher_mean.copy_(mean.to(torch::kFloat).view({1, -1, 1, 1}));
  net->teacher_std.copy_(
      std.clamp_min(1e-12).to(torch::kFloat).view({1, -1, 1, 1}));
}

// The qa and qb quantiles of the raw maps over `rows` of `set`.
void set_map_quantiles(EfficientAdNet& net, const TrainingSet& set,
                       const std::vector<std::int64_t>& rows, int batch,
                       const EfficientAdOptions& o) {
  torch::NoGradGuard no_grad;
  net->eval();
  std::vector<torch::Tensor> st, ae;
  for (std::size_t first = 0; first < rows.size(); first += batch) {
    std::vector<std::int64_t> part(
        rows.begin() + first,
        rows.begin() + std::min(rows.size(), first + batch));
    EfficientAdMaps maps = net->raw_maps(images_of(set, part));
    st.push_back(maps.st);
    ae.push_back(maps.ae);
  }
  torch::Tensor st_values = flat_sample(torch::cat(st));
  torch::Tensor ae_values = flat_sample(torch::cat(ae));
  net->qa_st.fill_(torch::quantile(st_values, o.map_quantile_a).item());
  net->qb_st.fill_(torch::quantile(st_values, o.map_quantile_b).item());
  net->qa_ae.fill_(torch::quantile(ae_values, o.map_quantile_a).item());
  net->qb_ae.fill_(torch::quantile(ae_values, o.map_quantile_b).item());
  spdlog::info(
      "efficientad: map quantiles st {:.4g} {:.4g}, ae {:.4g} "
      "{:.4g} from {} validation images",
      net->qa_st.item<float>(), net->qb_st.item<float>(),
      net->qa_ae.item<float>(), net->qb_ae.item<float>(), rows.size());
}

double validation_loss(EfficientAdNet& net, const TrainingSet& set,
                       const std::vector<std::int64_t>& rows, int batch,
                       double hard_quantile) {
  torch::NoGradGuard no_grad;
  net->eval();
  double sum = 0.0;
  for (std::size_t first = 0; first < rows.size(); first += batch) {
    std::vector<std::int64_t> part(
        rows.begin() + first,
        rows.begin() + std::min(rows.size(), first + batch));
    torch::Tensor x = images_of(set, part);
    EfficientAdLosses losses =
        efficientad_losses(net, x, x, torch::Tensor(), hard_quantile);
    sum += losses.total().item<double>() * double(part.size());
  }
  net->train();
  return sum / double(rows.size());
}

void prepare_teacher(EfficientAdNet& net, const EfficientAdOptions& o,
                     const Preprocess& preprocess) {
  if (o.teacher == "random") {
    spdlog::warn(
        "efficientad: untrained (random) teacher; for tests only, "
        "distill one with `vigil distill`");
    return;
  }
  load_teacher(o.teacher, o.model_size, o.teacher_channels, preprocess,
               net->teacher);
  spdlog::info("efficientad: teacher from {}", o.teacher);
}

std::unique_ptr<PenaltyImages> penalty_images(const EfficientAdOptions& o,
                                              const Preprocess& p) {
  if (o.penalty_images.empty()) {
    spdlog::warn(
        "efficientad: no penalty images; the penalty term is "
        "skipped (the paper uses ImageNet)");
    return nullptr;
  }
  auto images = std::make_unique<PenaltyImages>(o.penalty_images, p);
  spdlog::info("efficientad: {} penalty images in {}", images->size(),
               o.penalty_images);
  return images;
}

std::string fingerprint(const EfficientAdOptions& options,
                        const TrainingSet& normal, const TrainRequest& request,
                        std::int64_t n_train) {
  nlohmann::json j = to_json(options);
  for (const char* key :
       {"checkpoint", "checkpoint_every", "resume", "threads"}) {
    j.erase(key);
  }
  j["input"] = {normal.height, normal.width};
  j["seed"] = request.seed;
  j["n_train"] = n_train;
  return j.dump();
}

}  // namespace

std::unique_ptr<Model> train_efficientad(const TrainRequest& request,
                                         const TrainingSet& normal,
                                         std::unique_ptr<Backbone> backbone,
                                         TrainingReport* report) {
  EfficientAdOptions o = efficientad_options_from_json(request.options);
  if (backbone) {
    spdlog::warn("efficientad: needs no backbone; ignoring {}",
                 backbone->options().path);
  }
  if (normal.n < 1) throw Error("efficientad", "no normal images");
  setup_torch(o.training, request.seed);
  EfficientAdNet net(efficientad_arch(o, normal.height, normal.width));
  prepare_teacher(net, o, request.preprocess);
  std::unique_ptr<PenaltyImages> penalty =
      penalty_images(o, request.preprocess);
  const PixelSpace space(request.preprocess);
  Split split = split_images(request, normal, o);
  const int batch = std::max(1, request.batch_size);
  set_teacher_statistics(net, normal, split.train, batch);

  std::vector<torch::Tensor> parameters = net->student->parameters();
  for (const torch::Tensor& p : net->ae->parameters()) parameters.push_back(p);
  torch::optim::Adam adam = make_adam(parameters, o.training);
  const std::int64_t n_train = std::int64_t(split.train.size());
  const std::int64_t decay_step =
      std::int64_t(kDecayAt * double(training_step_limit(o.training, n_train)));

  TrainHooks hooks;
  hooks.train_step = [&](const std::vector<std::int64_t>& items,
                         std::int64_t step) {
    set_learning_rate(adam, step >= decay_step
                                ? o.training.learning_rate * kDecayFactor
                                : o.training.learning_rate);
    std::vector<std::int64_t> rows;
    for (std::int64_t i : items) rows.push_back(split.train[i]);
    torch::Tensor x = images_of(normal, rows);
    torch::Tensor x_augmented = colour_jitter(x, space);
    torch::Tensor p =
        penalty ? penalty->draw(int(rows.size())) : torch::Tensor();
    torch::Tensor loss =
        efficientad_losses(net, x, x_augmented, p, o.hard_quantile).total();
    adam.zero_grad();
    loss.backward();
    adam.step();
    return loss.item<double>();
  };
  hooks.validation_loss = [&] {
    return validation_loss(net, *split.validation_set, split.validation, batch,
                           o.hard_quantile);
  };
  hooks.save = [&](torch::serialize::OutputArchive& a) { net->save(a); };
  hooks.load = [&](torch::serialize::InputArchive& a) { net->load(a); };

  net->train();
  TrainingReport summary =
      run_training_loop("efficientad", fingerprint(o, normal, request, n_train),
                        o.training, n_train, request.seed, hooks, &adam);
  log_summary("efficientad", summary, n_train);
  if (report) *report = summary;
  set_map_quantiles(net, *split.validation_set, split.validation, batch, o);
  return make_efficientad_model(o, std::move(net));
}

void register_efficientad() {
  register_trainer(
      "efficientad", [](const TrainRequest& request, const TrainingSet& normal,
                        std::unique_ptr<Backbone> backbone) {
        return train_efficientad(request, normal, std::move(backbone));
      });
  register_model_loader("efficientad", load_efficientad);
}

}  // namespace vigil
