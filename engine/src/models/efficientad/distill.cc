// Distilling an EfficientAD teacher from a frozen ONNX backbone; see
// vigil/efficientad.h (distill_teacher) for the method and its reasons.
#include <ATen/CPUGeneratorImpl.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "models/efficientad/efficientad_model.h"
#include "models/efficientad/networks.h"
#include "models/torch_util.h"
#include "vigil/backbone.h"
#include "vigil/dataset.h"
#include "vigil/efficientad.h"
#include "vigil/error.h"
#include "vigil/image_io.h"

namespace vigil {
namespace {

namespace F = torch::nn::functional;

// The unpadded PDN's output cell (i, j) sees input pixels [4i, 4i + 32]:
// its centre is at 4i + 16.5 in continuous pixel coordinates.
constexpr double kCellStride = 4.0;
constexpr double kCellCentre = 16.5;

void check(bool ok, const std::string& option, const std::string& cause) {
  if (!ok) throw Error("distill option '" + option + "'", cause);
}

void check_options(const DistillOptions& o) {
  check(!o.backbone.path.empty(), "backbone", "required");
  check(!o.backbone.layers.empty(), "layers", "at least one tap");
  check(!o.images.empty(), "images", "required");
  check(!o.output.empty(), "output", "required");
  check(o.channels > 0, "channels", "must be positive");
  check(o.image_size >= 64, "image_size", "must be at least 64");
  check(o.stats_images > 0, "stats_images", "must be positive");
  check(o.training.batch_size > 0, "batch_size", "must be positive");
  check(o.training.steps > 0 || o.training.epochs > 0, "steps",
        "steps or epochs must be positive");
  check(
      o.training.validation_fraction > 0 && o.training.validation_fraction < 1,
      "validation_fraction", "must be in (0, 1)");
  pdn_size_from_name(o.model_size);
}

// n x out x out x 2 grid_sample coordinates of the PDN's cell centres.
torch::Tensor cell_grid(std::int64_t out, std::int64_t size) {
  torch::Tensor centres =
      (torch::arange(out, torch::kFloat) * kCellStride + kCellCentre) *
          (2.0 / double(size)) -
      1.0;
  std::vector<torch::Tensor> yx = torch::meshgrid({centres, centres}, "ij");
  return torch::stack({yx[1], yx[0]}, -1).unsqueeze(0);
}

// A `rows` x `cols` matrix with orthonormal columns (rows >= cols) or
// orthonormal rows (rows < cols), drawn from `seed`.
torch::Tensor semi_orthogonal(std::int64_t rows, std::int64_t cols,
                              std::uint64_t seed) {
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::int64_t tall = std::max(rows, cols), narrow = std::min(rows, cols);
  torch::Tensor gaussian =
      torch::randn({tall, narrow}, generator, torch::kDouble);
  torch::Tensor q = std::get<0>(torch::linalg_qr(gaussian));
  return (rows >= cols ? q : q.t()).to(torch::kFloat).contiguous();
}

class Distiller {
 public:
  explicit Distiller(const DistillOptions& o)
      : options_(o),
        backbone_(Backbone::open(o.backbone)),
        paths_(list_images(o.images)),
        pdn_size_(pdn_size_from_name(o.model_size)),
        pdn_(pdn_size_, o.channels, false) {
    if (paths_.size() < 2) {
      throw Error(o.images, "needs at least 2 images to distill from");
    }
    preprocess_ = o.preprocess;
    preprocess_.resize_height = preprocess_.height = o.image_size;
    preprocess_.resize_width = preprocess_.width = o.image_size;
    const std::int64_t out = pdn_output_size(pdn_size_, false, o.image_size);
    grid_ = cell_grid(out, o.image_size);
    split_ = holdout_split(std::int64_t(paths_.size()),
                           o.training.validation_fraction, o.seed);
  }

  DistillResult run();

 private:
  torch::Tensor load(const std::vector<std::int64_t>& rows) const;
  torch::Tensor backbone_features(const torch::Tensor& images) const;
  torch::Tensor target(const torch::Tensor& images) const;
  void fit_standardisation();
  double validation_loss();
  nlohmann::json metadata(const DistillResult& result) const;

  DistillOptions options_;
  std::unique_ptr<Backbone> backbone_;
  std::vector<std::string> paths_;
  PdnSize pdn_size_;
  Pdn pdn_;
  Preprocess preprocess_;
  torch::Tensor grid_;
  IndexSplit split_;
  torch::Tensor mean_, std_, projection_;  // 1 x C x 1 x 1, and d x C x 1 x 1
};

torch::Tensor Distiller::load(const std::vector<std::int64_t>& rows) const {
  const int s = options_.image_size;
  torch::Tensor x = torch::empty({std::int64_t(rows.size()), 3, s, s});
  for (std::size_t i = 0; i < rows.size(); ++i) {
    preprocess(read_image(paths_[rows[i]]), preprocess_,
               x[std::int64_t(i)].data_ptr<float>());
  }
  return x;
}

// The taps sampled at the cell centres, concatenated: n x C x out x out.
torch::Tensor Distiller::backbone_features(const torch::Tensor& x) const {
  const int s = options_.image_size;
  std::vector<torch::Tensor> taps = extract_taps(
      *backbone_, x.contiguous().data_ptr<float>(), int(x.size(0)), s, s);
  torch::Tensor grid = grid_.expand({x.size(0), -1, -1, -1});
  std::vector<torch::Tensor> sampled;
  for (const torch::Tensor& tap : taps) {
    sampled.push_back(F::grid_sample(tap, grid,
                                     F::GridSampleFuncOptions()
                                         .mode(torch::kBilinear)
                                         .padding_mode(torch::kBorder)
                                         .align_corners(false)));
  }
  return torch::cat(sampled, 1);
}

torch::Tensor Distiller::target(const torch::Tensor& x) const {
  torch::NoGradGuard no_grad;
  torch::Tensor f = (backbone_features(x) - mean_) / std_;
  return F::conv2d(f, projection_);
}

void Distiller::fit_standardisation() {
  std::vector<std::int64_t> rows(
      split_.train.begin(),
      split_.train.begin() +
          std::min<std::size_t>(options_.stats_images, split_.train.size()));
  torch::Tensor sum, squares;
  double count = 0.0;
  for (std::size_t first = 0; first < rows.size();
       first += options_.training.batch_size) {
    std::vector<std::int64_t> part(
        rows.begin() + first,
        rows.begin() +
            std::min(rows.size(), first + options_.training.batch_size));
    torch::Tensor f = backbone_features(load(part)).to(torch::kDouble);
    torch::Tensor s = f.sum({0, 2, 3}), q = f.pow(2).sum({0, 2, 3});
    sum = sum.defined() ? sum + s : s;
    squares = squares.defined() ? squares + q : q;
    count += double(f.size(0) * f.size(2) * f.size(3));
  }
  torch::Tensor mean = sum / count;
  torch::Tensor var = (squares / count - mean.pow(2)).clamp_min(1e-12);
  mean_ = mean.to(torch::kFloat).view({1, -1, 1, 1});
  std_ = var.sqrt().to(torch::kFloat).view({1, -1, 1, 1});
  const std::int64_t c = mean_.size(1);
  projection_ = semi_orthogonal(options_.channels, c, options_.seed + 1)
                    .view({options_.channels, c, 1, 1});
  spdlog::info(
      "distill: {} backbone channels from {} taps to {}, "
      "statistics of {} images",
      c, options_.backbone.layers.size(), options_.channels, rows.size());
}

double Distiller::validation_loss() {
  torch::NoGradGuard no_grad;
  double sum = 0.0;
  const std::size_t batch = options_.training.batch_size;
  for (std::size_t first = 0; first < split_.validation.size();
       first += batch) {
    std::vector<std::int64_t> part(
        split_.validation.begin() + first,
        split_.validation.begin() +
            std::min(split_.validation.size(), first + batch));
    torch::Tensor x = load(part);
    sum += F::mse_loss(pdn_->forward(x), target(x)).item<double>() *
           double(part.size());
  }
  return sum / double(split_.validation.size());
}

nlohmann::json Distiller::metadata(const DistillResult& r) const {
  return {{"model_size", options_.model_size},
          {"channels", options_.channels},
          {"preprocess", to_json(preprocess_)},
          {"backbone", options_.backbone.path},
          {"backbone_sha256", backbone_->sha256()},
          {"layers", options_.backbone.layers},
          {"images", options_.images},
          {"image_size", options_.image_size},
          {"steps", r.steps},
          {"validation_loss", r.validation_loss},
          {"seed", options_.seed}};
}

DistillResult Distiller::run() {
  fit_standardisation();
  torch::optim::Adam adam = make_adam(pdn_->parameters(), options_.training);
  TrainHooks hooks;
  hooks.train_step = [&](const std::vector<std::int64_t>& items, std::int64_t) {
    std::vector<std::int64_t> rows;
    for (std::int64_t i : items) rows.push_back(split_.train[i]);
    torch::Tensor x = load(rows);
    torch::Tensor loss = F::mse_loss(pdn_->forward(x), target(x));
    adam.zero_grad();
    loss.backward();
    adam.step();
    return loss.item<double>();
  };
  hooks.validation_loss = [&] { return validation_loss(); };
  hooks.save = [&](torch::serialize::OutputArchive& a) { pdn_->save(a); };
  hooks.load = [&](torch::serialize::InputArchive& a) { pdn_->load(a); };
  nlohmann::json fingerprint = {{"options", to_json(preprocess_)},
                                {"size", options_.model_size},
                                {"channels", options_.channels},
                                {"layers", options_.backbone.layers},
                                {"n", paths_.size()},
                                {"seed", options_.seed}};
  TrainingReport summary = run_training_loop(
      "distill", fingerprint.dump(), options_.training,
      std::int64_t(split_.train.size()), options_.seed, hooks, &adam);

  DistillResult result;
  result.steps = summary.steps;
  result.images = int(split_.train.size());
  result.last_loss = summary.losses.empty() ? 0.0 : summary.losses.back();
  result.validation_loss = validation_loss();
  result.seconds = summary.seconds;
  save_teacher(options_.output, pdn_, metadata(result));
  spdlog::info(
      "distill: {} steps on {} images in {:.1f} s, validation "
      "loss {:.5g}; teacher written to {}",
      result.steps, result.images, result.seconds, result.validation_loss,
      options_.output);
  return result;
}

}  // namespace

DistillResult distill_teacher(const DistillOptions& options) {
  check_options(options);
  setup_torch(options.training, options.seed);
  Distiller distiller(options);
  return distiller.run();
}

}  // namespace vigil
