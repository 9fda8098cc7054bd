// vigil_bench: per model, the time per image of each stage at batch 1 and
// at batch 8, the training time, the memory it holds, and for PatchCore the
// test-set AUROC of exact against approximate nearest-neighbour search.
// Google Benchmark runs and reports it; each figure is a counter. See
// README.md in this folder.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>

#include "vigil/dataset.h"
#include "vigil/detector.h"
#include "vigil/evaluate.h"
#include "vigil/image_io.h"
#include "vigil/stopwatch.h"
#include "vigil/training.h"

namespace {
namespace fs = std::filesystem;
using vigil::Clock;
using vigil::ms_since;

struct BenchConfig {
  std::string label;  // benchmark name prefix, no spaces
  std::string type;
  nlohmann::json options;
  std::string exact_label;  // for approximate search: its exact twin
};

struct Setup {
  std::string dataset;
  std::string backbone;
  std::vector<std::string> layers{"365", "426"};
  int threads = 0;
};

Setup& setup() {
  static Setup s;
  return s;
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

double rss_mb() {
  long pages = 0, resident = 0;
  std::ifstream("/proc/self/statm") >> pages >> resident;
  return resident * double(sysconf(_SC_PAGESIZE)) / (1 << 20);
}

const vigil::Dataset& dataset() {
  static vigil::Dataset d = vigil::load_mvtec(setup().dataset);
  return d;
}

struct Trained {
  std::unique_ptr<vigil::Detector> detector;
  double train_s = 0.0;
  double held_mb = 0.0;  // resident memory the training left behind
  int n_images = 0;
};

std::map<std::string, Trained>& trained() {
  static std::map<std::string, Trained> t;
  return t;
}

// Trains `config` on the dataset's normal images once per process.
const Trained& train(const BenchConfig& config) {
  auto it = trained().find(config.label);
  if (it != trained().end()) return it->second;

  vigil::TrainRequest request;
  request.type = config.type;
  request.backbone = {setup().backbone, setup().layers, setup().threads};
  request.options = config.options;
  std::vector<std::string> paths;
  for (const vigil::Sample& s : dataset().train) paths.push_back(s.image_path);

  double rss_before = rss_mb();
  auto start = Clock::now();
  vigil::TrainingSet normal =
      vigil::load_training_set(paths, request.preprocess);
  auto model = vigil::train_model(request, normal);
  Trained t;
  t.train_s = ms_since(start) / 1000.0;
  normal = {};
  t.held_mb = rss_mb() - rss_before;
  t.n_images = int(paths.size());

  vigil::LoadedModel loaded;
  loaded.info.type = config.type;
  loaded.info.preprocess = request.preprocess;
  loaded.model = std::move(model);
  t.detector = std::make_unique<vigil::Detector>(std::move(loaded));
  return trained().emplace(config.label, std::move(t)).first->second;
}

void bench_train(benchmark::State& state, const BenchConfig& config) {
  for (auto _ : state) train(config);
  const Trained& t = train(config);
  state.counters["train_s"] = t.train_s;
  state.counters["train_images"] = t.n_images;
  state.counters["held_MB"] = t.held_mb;
  state.counters["peak_MB"] = peak_rss_mb();
}

// Decodes `batch` test images and scores them, per iteration; the stage
// counters are milliseconds per image.
void bench_predict(benchmark::State& state, const BenchConfig& config) {
  const vigil::Detector& detector = *train(config).detector;
  const std::vector<vigil::Sample>& test = dataset().test;
  const int batch = int(state.range(0));
  double decode = 0, pre = 0, backbone = 0, scoring = 0, post = 0;
  std::size_t next = 0;
  for (auto _ : state) {
    auto start = Clock::now();
    std::vector<cv::Mat> images;
    for (int i = 0; i < batch; ++i, ++next) {
      images.push_back(vigil::read_image(test[next % test.size()].image_path));
    }
    decode += ms_since(start);
    std::vector<vigil::Verdict> v = detector.predict_batch(images);
    pre += v[0].timings.preprocess_ms;
    backbone += v[0].timings.backbone_ms;
    scoring += v[0].timings.scoring_ms;
    post += v[0].timings.postprocess_ms;
  }
  const double images = double(state.iterations()) * batch;
  state.SetItemsProcessed(std::int64_t(images));
  state.counters["decode_ms"] = decode / images;
  state.counters["preprocess_ms"] = pre / images;
  state.counters["backbone_ms"] = backbone / images;
  state.counters["scoring_ms"] = scoring / images;
  state.counters["post_ms"] = post / images;
  state.counters["total_ms"] =
      (decode + pre + backbone + scoring + post) / images;
}

std::map<std::string, double>& image_aurocs() {
  static std::map<std::string, double> a;
  return a;
}

void bench_quality(benchmark::State& state, const BenchConfig& config) {
  vigil::Metrics m;
  for (auto _ : state) {
    vigil::ScoredSet scored =
        vigil::score_samples(*train(config).detector, dataset().test);
    m = vigil::compute_metrics(scored, {});
  }
  image_aurocs()[config.label] = m.image_auroc;
  state.counters["image_AUROC"] = m.image_auroc;
  state.counters["pixel_AUROC"] = m.pixel_auroc;
  state.counters["AUPRO"] = m.aupro;
  state.counters["test_images"] = m.n_images;
  auto exact = image_aurocs().find(config.exact_label);
  if (exact != image_aurocs().end()) {
    state.counters["AUROC_minus_exact"] = m.image_auroc - exact->second;
  }
}

std::vector<BenchConfig> configs() {
  nlohmann::json base = {{"coreset_ratio", 0.01}, {"projection_dim", 32}};
  nlohmann::json hnsw = base, ivf = base;
  base["search"] = "exact";
  nlohmann::json all_cores = base;
  all_cores["search_threads"] = 0;
  hnsw["search"] = "hnsw";
  ivf["search"] = "ivf";
  return {{"padim", "padim", {{"n_features", 100}}, ""},
          {"patchcore_exact", "patchcore", base, ""},
          {"patchcore_exact_all_cores", "patchcore", all_cores, ""},
          {"patchcore_hnsw", "patchcore", hnsw, "patchcore_exact"},
          {"patchcore_ivf", "patchcore", ivf, "patchcore_exact"}};
}

// In the order Google Benchmark runs them: a configuration's training, its
// quality, then its speed at batch 1 and 8.
void register_benchmarks() {
  for (const BenchConfig& c : configs()) {
    benchmark::RegisterBenchmark((c.label + "/train").c_str(), bench_train, c)
        ->Iterations(1)
        ->Unit(benchmark::kSecond);
    benchmark::RegisterBenchmark((c.label + "/test_set").c_str(), bench_quality,
                                 c)
        ->Iterations(1)
        ->Unit(benchmark::kSecond);
    benchmark::RegisterBenchmark((c.label + "/predict").c_str(), bench_predict,
                                 c)
        ->Arg(1)
        ->Arg(8)
        ->ArgName("batch")
        ->MinTime(5.0)
        ->Unit(benchmark::kMillisecond);
  }
}

// Our flags (--dataset=, --backbone=, --threads=) are taken out before
// Google Benchmark reads the rest (--benchmark_filter= and the like).
void parse_own_flags(int& argc, char** argv) {
  fs::path shared =
      std::getenv("VIGIL_SHARED") ? std::getenv("VIGIL_SHARED") : "../shared";
  setup().dataset = (shared / "datasets" / "magnetic_tile").string();
  setup().backbone =
      (shared / "backbones" / "mobilenetv2-fp32-dequantized.onnx").string();
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--dataset=", 0) == 0) {
      setup().dataset = arg.substr(10);
    } else if (arg.rfind("--backbone=", 0) == 0) {
      setup().backbone = arg.substr(11);
    } else if (arg.rfind("--threads=", 0) == 0) {
      setup().threads = std::stoi(arg.substr(10));
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
}

}  // namespace

int main(int argc, char** argv) {
  parse_own_flags(argc, argv);
  spdlog::set_level(spdlog::level::warn);
  benchmark::AddCustomContext("dataset", setup().dataset);
  benchmark::AddCustomContext("backbone", setup().backbone);
  benchmark::AddCustomContext("input", "224 x 224");
  register_benchmarks();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
