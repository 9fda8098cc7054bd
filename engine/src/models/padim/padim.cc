#include "vigil/padim.h"

#include <algorithm>
#include <numeric>
#include <random>

#include <spdlog/spdlog.h>
#include <Eigen/Dense>

#include "models/anomaly_map.h"
#include "models/builtin.h"
#include "models/embedding.h"
#include "models/omp_threads.h"
#include "models/options.h"
#include "vigil/error.h"
#include "vigil/model.h"
#include "vigil/stopwatch.h"
#include "vigil/training.h"

namespace vigil {
namespace {

using RowMatrix =
    Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// anomalib upsamples PaDiM's deeper taps with nearest neighbours and does
// not pool them.
const EmbeddingOptions kEmbedding{false, Upsample::kNearest};

// The chosen channels of one patch: d floats.
void select_channels(const float* patch, const std::vector<std::int64_t>& idx,
                     float* out) {
  for (std::size_t j = 0; j < idx.size(); ++j) out[j] = patch[idx[j]];
}

std::size_t packed_size(int d) { return std::size_t(d) * (d + 1) / 2; }

// A d x d matrix A (row-major) as the rows of its upper triangle, each
// off-diagonal entry holding A_rc + A_cr, so that x^T A x is
// sum_r x_r (packed row r . x[r:]): half the memory and arithmetic of the
// full matrix, and the same form for an A that rounding left asymmetric.
void pack_upper(const float* full, int d, float* packed) {
  for (int r = 0; r < d; ++r) {
    *packed++ = full[r * d + r];
    for (int c = r + 1; c < d; ++c)
      *packed++ = full[r * d + c] + full[c * d + r];
  }
}

// The symmetric matrix whose packed form is `packed`.
void unpack_upper(const float* packed, int d, float* full) {
  for (int r = 0; r < d; ++r) {
    full[r * d + r] = *packed++;
    for (int c = r + 1; c < d; ++c)
      full[r * d + c] = full[c * d + r] = 0.5f * *packed++;
  }
}

// x^T A x for A packed by pack_upper; x: d floats.
float quadratic_form(const float* packed, const float* x, int d) {
  float sum = 0.0f;
  for (int r = 0; r < d; ++r) {
    Eigen::Map<const Eigen::VectorXf> row(packed, d - r), tail(x + r, d - r);
    sum += x[r] * row.dot(tail);
    packed += d - r;
  }
  return sum;
}

class Padim : public Model {
 public:
  // mean: positions x d; inverse_covariance: positions x d x d (row-major).
  Padim(PadimOptions options, std::unique_ptr<Backbone> backbone,
        std::vector<std::int64_t> channels, int grid_h, int grid_w,
        std::vector<float> mean, const float* inverse_covariance)
      : options_(options),
        backbone_(std::move(backbone)),
        channels_(std::move(channels)),
        grid_h_(grid_h),
        grid_w_(grid_w),
        mean_(std::move(mean)) {
    const int d = channels_.size();
    const std::size_t positions = std::size_t(grid_h_) * grid_w_;
    packed_inverse_.resize(positions * packed_size(d));
    for (std::size_t p = 0; p < positions; ++p) {
      pack_upper(inverse_covariance + p * d * d, d,
                 packed_inverse_.data() + p * packed_size(d));
    }
  }

  std::string type() const override { return "padim"; }
  const Backbone* backbone() const override { return backbone_.get(); }
  nlohmann::json config() const override { return to_json(options_); }

  void write_tensors(TensorFile& file) const override {
    std::int64_t d = channels_.size();
    file.put("channels", {d}, channels_.data());
    file.put("mean", {grid_h_, grid_w_, d}, mean_.data());
    const std::size_t positions = std::size_t(grid_h_) * grid_w_;
    std::vector<float> inverse(positions * d * d);
    for (std::size_t p = 0; p < positions; ++p) {
      unpack_upper(packed_inverse_.data() + p * packed_size(d), d,
                   inverse.data() + p * d * d);
    }
    file.put("inverse_covariance", {grid_h_, grid_w_, d, d}, inverse.data());
  }

  RawOutput score(const float* images, int n, int height, int width,
                  StageTimes* times) const override {
    auto start = Clock::now();
    Embedding e = build_embedding(backbone_->extract(images, n, height, width),
                                  kEmbedding);
    if (times) times->backbone_ms += ms_since(start);
    start = Clock::now();
    if (e.h != grid_h_ || e.w != grid_w_) {
      throw Error("padim", "feature grid " + std::to_string(e.h) + "x" +
                               std::to_string(e.w) + " differs from the " +
                               "trained one (another input size?)");
    }
    std::vector<float> grid;
    {
      OmpThreads threads(options_.scoring_threads);
      grid = mahalanobis_grid(e);
    }

    RawOutput out{n, height, width, {}, {}};
    out.anomaly_maps.resize(std::size_t(n) * height * width);
    out.image_scores.resize(n);
    for (int i = 0; i < n; ++i) {
      float* map = out.anomaly_maps.data() + std::size_t(i) * height * width;
      grid_to_anomaly_map(grid.data() + std::size_t(i) * grid_h_ * grid_w_,
                          grid_h_, grid_w_, height, width, options_.sigma, map);
      out.image_scores[i] = *std::max_element(map, map + height * width);
    }
    if (times) times->scoring_ms += ms_since(start);
    return out;
  }

 private:
  // n x positions Mahalanobis distances, row-major. Each position's
  // inverse covariance is read once for the whole batch.
  std::vector<float> mahalanobis_grid(const Embedding& e) const {
    const int d = channels_.size();
    const int positions = grid_h_ * grid_w_;
    std::vector<float> grid(std::size_t(e.n) * positions);
#pragma omp parallel
    {
      std::vector<float> delta(d);
#pragma omp for schedule(static)
      for (int p = 0; p < positions; ++p) {
        const float* mu = mean_.data() + std::size_t(p) * d;
        const float* inverse = packed_inverse_.data() + p * packed_size(d);
        for (int i = 0; i < e.n; ++i) {
          select_channels(e.patch(i, p), channels_, delta.data());
          for (int j = 0; j < d; ++j) delta[j] -= mu[j];
          float squared = quadratic_form(inverse, delta.data(), d);
          grid[std::size_t(i) * positions + p] =
              std::sqrt(std::max(squared, 0.0f));
        }
      }
    }
    return grid;
  }

  PadimOptions options_;
  std::unique_ptr<Backbone> backbone_;
  std::vector<std::int64_t> channels_;
  int grid_h_, grid_w_;
  std::vector<float> mean_;
  // positions x packed_size(d): each inverse covariance by pack_upper.
  std::vector<float> packed_inverse_;
};

// Running sums per position, in double: sum of x and of x x^T.
struct GaussianSums {
  int d = 0, positions = 0;
  std::int64_t count = 0;
  std::vector<Eigen::VectorXd> sum;
  std::vector<Eigen::MatrixXd> outer;

  void add(const Embedding& e, const std::vector<std::int64_t>& channels) {
    if (sum.empty()) {
      d = channels.size(), positions = e.h * e.w;
      sum.assign(positions, Eigen::VectorXd::Zero(d));
      outer.assign(positions, Eigen::MatrixXd::Zero(d, d));
    }
#pragma omp parallel for schedule(static)
    for (int p = 0; p < positions; ++p) {
      Eigen::MatrixXf x(e.n, d);
      std::vector<float> row(d);
      for (int i = 0; i < e.n; ++i) {
        select_channels(e.patch(i, p), channels, row.data());
        x.row(i) = Eigen::Map<Eigen::RowVectorXf>(row.data(), d);
      }
      Eigen::MatrixXd xd = x.cast<double>();
      sum[p] += xd.colwise().sum().transpose();
      outer[p].noalias() += xd.transpose() * xd;
    }
    count += e.n;
  }
};

std::vector<std::int64_t> random_channels(int total, int wanted,
                                          std::uint64_t seed) {
  std::vector<std::int64_t> all(total);
  std::iota(all.begin(), all.end(), 0);
  if (wanted <= 0 || wanted >= total) return all;
  std::mt19937_64 random(seed);
  std::shuffle(all.begin(), all.end(), random);
  all.resize(wanted);
  std::sort(all.begin(), all.end());
  return all;
}

std::unique_ptr<Model> train_padim(const TrainRequest& request,
                                   const TrainingSet& normal,
                                   std::unique_ptr<Backbone> backbone) {
  PadimOptions options = padim_options_from_json(request.options);
  if (!backbone) throw Error("padim", "needs a backbone (--backbone)");
  if (normal.n < 2) throw Error("padim", "needs at least 2 normal images");
  GaussianSums sums;
  std::vector<std::int64_t> channels;
  int grid_h = 0, grid_w = 0;
  auto start = Clock::now();
  for (int first = 0; first < normal.n; first += request.batch_size) {
    int count = std::min(request.batch_size, normal.n - first);
    Embedding e =
        build_embedding(backbone->extract(normal.image(first), count,
                                          normal.height, normal.width),
                        kEmbedding);
    if (channels.empty()) {
      channels = random_channels(e.d, options.n_features, request.seed);
      grid_h = e.h, grid_w = e.w;
    }
    sums.add(e, channels);
    spdlog::info("padim: {} of {} images ({:.1f} images/s)", first + count,
                 normal.n, (first + count) / (ms_since(start) / 1000.0));
  }

  const int d = channels.size(), positions = grid_h * grid_w;
  if (normal.n <= d) {
    spdlog::warn(
        "padim: {} images for Gaussians of dimension {}: each covariance "
        "is held up by epsilon alone in some directions, so the training "
        "images score far lower than new normal ones; use more images than "
        "n_features, or fewer features",
        normal.n, d);
  }
  std::vector<float> mean(std::size_t(positions) * d);
  std::vector<float> inverse(std::size_t(positions) * d * d);
  const double n = static_cast<double>(sums.count);
#pragma omp parallel for schedule(static)
  for (int p = 0; p < positions; ++p) {
    Eigen::VectorXd mu = sums.sum[p] / n;
    Eigen::MatrixXd covariance =
        (sums.outer[p] - n * mu * mu.transpose()) / (n - 1.0);
    covariance.diagonal().array() += options.epsilon;
    Eigen::MatrixXd inv =
        covariance.llt().solve(Eigen::MatrixXd::Identity(d, d));
    Eigen::Map<Eigen::VectorXf>(mean.data() + std::size_t(p) * d, d) =
        mu.cast<float>();
    Eigen::Map<RowMatrix>(inverse.data() + std::size_t(p) * d * d, d, d) =
        inv.cast<float>();
  }
  spdlog::info("padim: {} Gaussians of dimension {} from {} images", positions,
               d, normal.n);
  return std::make_unique<Padim>(options, std::move(backbone),
                                 std::move(channels), grid_h, grid_w,
                                 std::move(mean), inverse.data());
}

std::unique_ptr<Model> load_padim(const nlohmann::json& config,
                                  const TensorFile& file,
                                  std::unique_ptr<Backbone> backbone) {
  PadimOptions options = padim_options_from_json(config);
  const Tensor& mean = file.get("mean");
  if (mean.shape.size() != 3) throw Error("mean", "must be 3-D");
  std::int64_t h = mean.shape[0], w = mean.shape[1], d = mean.shape[2];
  const std::int64_t* channels = file.i64("channels", {d});
  const float* mu = file.f32("mean", {h, w, d});
  const float* inverse = file.f32("inverse_covariance", {h, w, d, d});
  return std::make_unique<Padim>(
      options, std::move(backbone),
      std::vector<std::int64_t>(channels, channels + d), h, w,
      std::vector<float>(mu, mu + h * w * d), inverse);
}

}  // namespace

PadimOptions padim_options_from_json(const nlohmann::json& j) {
  PadimOptions o;
  OptionReader reader(j, "padim");
  reader.read("n_features", o.n_features);
  reader.read("epsilon", o.epsilon);
  reader.read("sigma", o.sigma);
  reader.read("scoring_threads", o.scoring_threads);
  reader.reject_unknown();
  require_option(o.n_features >= 0, "padim", "n_features",
                 "must not be negative");
  require_option(o.epsilon > 0, "padim", "epsilon", "must be positive");
  require_option(o.scoring_threads >= 0, "padim", "scoring_threads",
                 "must be 0 (all cores) or more");
  return o;
}

nlohmann::json to_json(const PadimOptions& o) {
  return {{"n_features", o.n_features},
          {"epsilon", o.epsilon},
          {"sigma", o.sigma},
          {"scoring_threads", o.scoring_threads}};
}

void register_padim() {
  register_trainer("padim", train_padim);
  register_model_loader("padim", load_padim);
}

}  // namespace vigil
