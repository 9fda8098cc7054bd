#include "vigil/patchcore.h"

#include <algorithm>
#include <cmath>

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>
#include <spdlog/spdlog.h>

#include "models/anomaly_map.h"
#include "models/builtin.h"
#include "models/embedding.h"
#include "models/omp_threads.h"
#include "models/options.h"
#include "models/patchcore/coreset.h"
#include "models/patchcore/ivf_search.h"
#include "vigil/error.h"
#include "vigil/model.h"
#include "vigil/stopwatch.h"
#include "vigil/training.h"

namespace vigil {
namespace {

using idx_t = faiss::Index::idx_t;

const EmbeddingOptions kEmbedding{true, Upsample::kBilinear};

std::unique_ptr<faiss::Index> build_index(const PatchCoreOptions& o,
                                          const std::vector<float>& bank,
                                          int d) {
  idx_t n = bank.size() / d;
  std::unique_ptr<faiss::Index> index;
  if (o.search == "hnsw") {
    auto hnsw = std::make_unique<faiss::IndexHNSWFlat>(d, o.hnsw_m);
    hnsw->hnsw.efSearch = o.ef_search;
    index = std::move(hnsw);
  } else if (o.search == "ivf") {
    int nlist = o.ivf_nlist > 0 ? o.ivf_nlist
                                : std::max(1, int(4 * std::sqrt(double(n))));
    auto* quantizer = new faiss::IndexFlatL2(d);
    auto ivf = std::make_unique<faiss::IndexIVFFlat>(quantizer, d, nlist);
    ivf->own_fields = true;
    ivf->nprobe = o.ivf_nprobe;
    ivf->train(n, bank.data());
    index = std::move(ivf);
  } else {
    index = std::make_unique<faiss::IndexFlatL2>(d);
  }
  index->add(n, bank.data());
  return index;
}

class PatchCore : public Model {
 public:
  PatchCore(PatchCoreOptions options, std::unique_ptr<Backbone> backbone,
            std::vector<float> memory_bank, int d,
            std::unique_ptr<faiss::Index> index)
      : options_(std::move(options)),
        backbone_(std::move(backbone)),
        memory_bank_(std::move(memory_bank)),
        d_(d),
        index_(index ? std::move(index)
                     : build_index(options_, memory_bank_, d)) {
    if (auto* ivf = dynamic_cast<faiss::IndexIVFFlat*>(index_.get())) {
      ivf_search_ = std::make_unique<IvfSearch>(*ivf);
    }
  }

  std::string type() const override { return "patchcore"; }
  const Backbone* backbone() const override { return backbone_.get(); }
  nlohmann::json config() const override { return to_json(options_); }

  void write_tensors(TensorFile& file) const override {
    std::int64_t n = memory_bank_.size() / d_;
    file.put("memory_bank", {n, d_}, memory_bank_.data());
    if (options_.search == "exact") return;
    faiss::VectorIOWriter writer;
    faiss::write_index(index_.get(), &writer);
    file.put_bytes("faiss_index", std::move(writer.data));
  }

  RawOutput score(const float* images, int n, int height, int width,
                  StageTimes* times) const override {
    auto start = Clock::now();
    Embedding e = build_embedding(backbone_->extract(images, n, height, width),
                                  kEmbedding);
    if (times) times->backbone_ms += ms_since(start);
    start = Clock::now();
    VIGIL_ASSERT(e.d == d_);

    const std::int64_t patches = std::int64_t(e.n) * e.h * e.w;
    OmpThreads threads(options_.search_threads);
    std::vector<float> distances(patches);
    std::vector<idx_t> nearest(patches);
    if (ivf_search_) {
      ivf_search_->nearest(patches, e.data.data(), options_.ivf_nprobe,
                           distances.data(), nearest.data());
    } else {
      index_->search(patches, e.data.data(), 1, distances.data(),
                     nearest.data());
    }
    for (float& v : distances) v = std::sqrt(std::max(v, 0.0f));

    RawOutput out{n, height, width, {}, {}};
    out.anomaly_maps.resize(std::size_t(n) * height * width);
    out.image_scores.resize(n);
    const int per_image = e.h * e.w;
    for (int i = 0; i < n; ++i) {
      const float* grid = distances.data() + std::size_t(i) * per_image;
      grid_to_anomaly_map(
          grid, e.h, e.w, height, width, options_.sigma,
          out.anomaly_maps.data() + std::size_t(i) * height * width);
      out.image_scores[i] =
          image_score(e, i, grid, nearest.data() + std::size_t(i) * per_image);
    }
    if (times) times->scoring_ms += ms_since(start);
    return out;
  }

 private:
  // The paper's reweighting (eq. 7): the most anomalous patch's distance,
  // scaled by how isolated its nearest bank sample is among its own
  // neighbours, so that a patch far from a dense region counts more.
  float image_score(const Embedding& e, int image, const float* grid,
                    const idx_t* nearest) const {
    const int per_image = e.h * e.w;
    int top = std::max_element(grid, grid + per_image) - grid;
    float top_score = grid[top];
    std::int64_t bank_size = memory_bank_.size() / d_;
    int k = std::min<std::int64_t>(options_.num_neighbors, bank_size);
    // An approximate search finds none where every probed list is empty.
    if (k < 2 || nearest[top] < 0) return top_score;

    const float* bank_sample = memory_bank_.data() + nearest[top] * d_;
    std::vector<float> unused(k);
    std::vector<idx_t> support(k);
    index_->search(1, bank_sample, k, unused.data(), support.data());

    const float* feature = e.patch(image, top);
    std::vector<double> d(k);
    for (int j = 0; j < k; ++j) {
      idx_t s = support[j] >= 0 ? support[j] : nearest[top];
      const float* m = memory_bank_.data() + s * d_;
      double sum = 0.0;
      for (int c = 0; c < d_; ++c)
        sum += double(feature[c] - m[c]) * (feature[c] - m[c]);
      d[j] = std::sqrt(sum);
    }
    double largest = *std::max_element(d.begin(), d.end());
    double total = 0.0;
    for (double v : d) total += std::exp(v - largest);
    double softmax_first = std::exp(d[0] - largest) / total;
    return static_cast<float>((1.0 - softmax_first) * top_score);
  }

  PatchCoreOptions options_;
  std::unique_ptr<Backbone> backbone_;
  std::vector<float> memory_bank_;  // bank x d, row-major, float32
  int d_;
  std::unique_ptr<faiss::Index> index_;
  std::unique_ptr<IvfSearch> ivf_search_;  // for an IVF index_; borrows it
};

}  // namespace
}  // namespace vigil

namespace vigil {
namespace {

using idx_t = faiss::Index::idx_t;

// Embeds every training image, batch by batch: patches x d, row-major.
std::vector<float> collect_patches(const Backbone& backbone,
                                   const TrainingSet& normal, int batch_size,
                                   int* d) {
  std::vector<float> patches;
  auto start = Clock::now();
  for (int first = 0; first < normal.n; first += batch_size) {
    int count = std::min(batch_size, normal.n - first);
    Embedding e = build_embedding(backbone.extract(normal.image(first), count,
                                                   normal.height, normal.width),
                                  kEmbedding);
    *d = e.d;
    patches.insert(patches.end(), e.data.begin(), e.data.end());
    spdlog::info("patchcore: embedded {} of {} images ({:.1f} images/s)",
                 first + count, normal.n,
                 (first + count) / (ms_since(start) / 1000.0));
  }
  return patches;
}

std::unique_ptr<Model> train_patchcore(const TrainRequest& request,
                                       const TrainingSet& normal,
                                       std::unique_ptr<Backbone> backbone) {
  PatchCoreOptions options = patchcore_options_from_json(request.options);
  if (!backbone) throw Error("patchcore", "needs a backbone (--backbone)");
  int d = 0;
  std::vector<float> patches =
      collect_patches(*backbone, normal, request.batch_size, &d);
  std::int64_t n = patches.size() / d;
  std::int64_t k = std::max<std::int64_t>(
      1, static_cast<std::int64_t>(std::llround(n * options.coreset_ratio)));
  std::vector<float> bank;
  if (k >= n) {
    bank = std::move(patches);
  } else {
    std::vector<std::int64_t> chosen = greedy_coreset(
        patches.data(), n, d, k, options.projection_dim, request.seed);
    bank.resize(std::size_t(k) * d);
    for (std::int64_t i = 0; i < k; ++i) {
      std::copy_n(patches.data() + chosen[i] * d, d, bank.data() + i * d);
    }
  }
  spdlog::info("patchcore: memory bank of {} x {} from {} patches", k, d, n);
  return std::make_unique<PatchCore>(options, std::move(backbone),
                                     std::move(bank), d, nullptr);
}

std::unique_ptr<faiss::Index> read_index(const TensorFile& file) {
  if (!file.has("faiss_index")) return nullptr;
  faiss::VectorIOReader reader;
  reader.data = file.get("faiss_index").bytes;
  std::unique_ptr<faiss::Index> index(faiss::read_index(&reader));
  return index;
}

std::unique_ptr<Model> load_patchcore(const nlohmann::json& config,
                                      const TensorFile& file,
                                      std::unique_ptr<Backbone> backbone) {
  PatchCoreOptions options = patchcore_options_from_json(config);
  const Tensor& bank = file.get("memory_bank");
  if (bank.shape.size() != 2) throw Error("memory_bank", "must be 2-D");
  int d = static_cast<int>(bank.shape[1]);
  const float* data = file.f32("memory_bank");
  std::vector<float> memory_bank(data, data + bank.shape[0] * d);
  std::unique_ptr<faiss::Index> index;
  if (options.search != "exact") index = read_index(file);
  if (auto* hnsw = dynamic_cast<faiss::IndexHNSW*>(index.get())) {
    hnsw->hnsw.efSearch = options.ef_search;
  }
  return std::make_unique<PatchCore>(options, std::move(backbone),
                                     std::move(memory_bank), d,
                                     std::move(index));
}

}  // namespace

PatchCoreOptions patchcore_options_from_json(const nlohmann::json& j) {
  PatchCoreOptions o;
  OptionReader reader(j, "patchcore");
  reader.read("coreset_ratio", o.coreset_ratio);
  reader.read("projection_dim", o.projection_dim);
  reader.read("num_neighbors", o.num_neighbors);
  reader.read("search", o.search);
  reader.read("hnsw_m", o.hnsw_m);
  reader.read("ef_search", o.ef_search);
  reader.read("ivf_nlist", o.ivf_nlist);
  reader.read("ivf_nprobe", o.ivf_nprobe);
  reader.read("sigma", o.sigma);
  reader.read("search_threads", o.search_threads);
  reader.reject_unknown();
  require_option(o.coreset_ratio > 0 && o.coreset_ratio <= 1, "patchcore",
                 "coreset_ratio", "must be in (0, 1]");
  require_option(o.search == "exact" || o.search == "hnsw" || o.search == "ivf",
                 "patchcore", "search", "must be exact, hnsw or ivf");
  require_option(o.num_neighbors >= 1, "patchcore", "num_neighbors",
                 "must be at least 1");
  require_option(o.search_threads >= 0, "patchcore", "search_threads",
                 "must be 0 (all cores) or more");
  return o;
}

nlohmann::json to_json(const PatchCoreOptions& o) {
  return {{"coreset_ratio", o.coreset_ratio},
          {"projection_dim", o.projection_dim},
          {"num_neighbors", o.num_neighbors},
          {"search", o.search},
          {"hnsw_m", o.hnsw_m},
          {"ef_search", o.ef_search},
          {"ivf_nlist", o.ivf_nlist},
          {"ivf_nprobe", o.ivf_nprobe},
          {"sigma", o.sigma},
          {"search_threads", o.search_threads}};
}

void register_patchcore() {
  register_trainer("patchcore", train_patchcore);
  register_model_loader("patchcore", load_patchcore);
}

}  // namespace vigil
