// vigil_bench: stage timings, training time, peak memory and exact-vs-
// approximate search quality, printed as a table. See README.md.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "vigil/dataset.h"
#include "vigil/detector.h"
#include "vigil/evaluate.h"
#include "vigil/image_io.h"
#include "vigil/training.h"

namespace {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct BenchConfig {
  std::string label;
  std::string type;
  nlohmann::json options;
};

struct Flags {
  std::string dataset;
  std::string backbone;
  std::vector<std::string> layers{"365", "426"};
  std::vector<std::string> models{"padim", "patchcore"};
  int repeats = 30;
  int threads = 0;
  bool auroc = true;
};

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start)
      .count();
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

// Median of per-image stage times over `repeats` calls at `batch`.
vigil::Timings stage_times(const vigil::Detector& detector,
                           const std::vector<std::string>& paths, int batch,
                           int repeats) {
  std::vector<vigil::Timings> runs;
  std::vector<double> decode;
  for (int r = 0; r < repeats; ++r) {
    std::vector<cv::Mat> images;
    auto start = Clock::now();
    for (int i = 0; i < batch; ++i) {
      images.push_back(
          vigil::read_image(paths[(r * batch + i) % paths.size()]));
    }
    decode.push_back(ms_since(start) / batch);
    auto total = Clock::now();
    vigil::Timings t;
    std::vector<vigil::Verdict> v = detector.predict_batch(images);
    t = v[0].timings;
    t.total_ms = ms_since(total);
    runs.push_back(t);
  }
  auto median = [&](auto field) {
    std::vector<double> values;
    for (const vigil::Timings& t : runs) values.push_back(field(t) / batch);
    std::nth_element(values.begin(), values.begin() + values.size() / 2,
                     values.end());
    return values[values.size() / 2];
  };
  vigil::Timings m;
  m.preprocess_ms = median([](const auto& t) { return t.preprocess_ms; });
  m.backbone_ms = median([](const auto& t) { return t.backbone_ms; });
  m.scoring_ms = median([](const auto& t) { return t.scoring_ms; });
  m.postprocess_ms = median([](const auto& t) { return t.postprocess_ms; });
  m.total_ms = median([](const auto& t) { return t.total_ms; });
  std::nth_element(decode.begin(), decode.begin() + decode.size() / 2,
                   decode.end());
  std::printf(
      "  batch %-2d decode %6.2f  preprocess %6.2f  backbone %6.2f  "
      "scoring %6.2f  post %6.2f  | model total %6.2f  end-to-end "
      "%6.2f ms/image\n",
      batch, decode[decode.size() / 2], m.preprocess_ms, m.backbone_ms,
      m.scoring_ms, m.postprocess_ms, m.total_ms,
      m.total_ms + decode[decode.size() / 2]);
  return m;
}

void bench_model(const Flags& flags, const BenchConfig& config,
                 const vigil::Dataset& dataset) {
  vigil::TrainRequest request;
  request.type = config.type;
  request.backbone = {flags.backbone, flags.layers, flags.threads};
  request.options = config.options;
  std::vector<std::string> paths;
  for (const vigil::Sample& s : dataset.train) paths.push_back(s.image_path);

  auto start = Clock::now();
  vigil::TrainingSet normal =
      vigil::load_training_set(paths, request.preprocess);
  auto model = vigil::train_model(request, normal);
  double train_s = ms_since(start) / 1000.0;
  normal = {};

  vigil::LoadedModel loaded;
  loaded.info.type = config.type;
  loaded.info.preprocess = request.preprocess;
  loaded.model = std::move(model);
  vigil::Detector detector(std::move(loaded));
  std::printf("\n%s: trained on %zu images in %.1f s, peak memory %.0f MB\n",
              config.label.c_str(), paths.size(), train_s, peak_rss_mb());
  std::vector<std::string> test_paths;
  for (const vigil::Sample& s : dataset.test) {
    test_paths.push_back(s.image_path);
  }
  stage_times(detector, test_paths, 1, flags.repeats);
  stage_times(detector, test_paths, 8, std::max(3, flags.repeats / 4));
  if (flags.auroc) {
    vigil::ScoredSet scored = vigil::score_samples(detector, dataset.test);
    vigil::Metrics m = vigil::compute_metrics(scored, {});
    std::printf(
        "  image AUROC %.4f  pixel AUROC %.4f  AUPRO %.4f on %d "
        "test images\n",
        m.image_auroc, m.pixel_auroc, m.aupro, m.n_images);
  }
  std::printf("  peak memory %.0f MB\n", peak_rss_mb());
  std::fflush(stdout);
}

std::vector<BenchConfig> configs_for(const std::string& model) {
  if (model == "padim") {
    return {{"PaDiM (100 features)", "padim", {{"n_features", 100}}}};
  }
  if (model == "patchcore") {
    nlohmann::json base = {{"coreset_ratio", 0.01}};
    nlohmann::json hnsw = base, ivf = base;
    hnsw["search"] = "hnsw";
    ivf["search"] = "ivf";
    return {{"PatchCore exact search (coreset 1%)", "patchcore", base},
            {"PatchCore HNSW search (coreset 1%)", "patchcore", hnsw},
            {"PatchCore IVF search (coreset 1%)", "patchcore", ivf}};
  }
  return {};
}

// Each configuration in a child process: its peak memory is its own and a
// crash in one does not hide the others.
void run_isolated(const Flags& flags, const BenchConfig& config,
                  const vigil::Dataset& dataset) {
  std::fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    try {
      bench_model(flags, config, dataset);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s: %s\n", config.label.c_str(), e.what());
      _exit(1);
    }
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
}

}  // namespace

int main(int argc, char** argv) {
  fs::path shared =
      std::getenv("VIGIL_SHARED") ? std::getenv("VIGIL_SHARED") : "../shared";
  Flags flags;
  flags.dataset = (shared / "datasets" / "magnetic_tile").string();
  flags.backbone =
      (shared / "backbones" / "mobilenetv2-fp32-dequantized.onnx").string();
  CLI::App app{"vigil_bench: speed of each stage, per model"};
  app.add_option("--dataset", flags.dataset)->capture_default_str();
  app.add_option("--backbone", flags.backbone)->capture_default_str();
  app.add_option("--layers", flags.layers)->delimiter(',');
  app.add_option("--models", flags.models, "padim, patchcore")->delimiter(',');
  app.add_option("--repeats", flags.repeats)->capture_default_str();
  app.add_option("--threads", flags.threads, "0: all cores");
  app.add_flag("!--no-auroc", flags.auroc, "skip the test-set AUROC");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);

  vigil::Dataset dataset = vigil::load_mvtec(flags.dataset);
  std::printf(
      "vigil_bench: %s, backbone %s, %u hardware threads, "
      "224 x 224 input\n",
      flags.dataset.c_str(), flags.backbone.c_str(),
      std::thread::hardware_concurrency());
  for (const std::string& model : flags.models) {
    for (const BenchConfig& config : configs_for(model)) {
      run_isolated(flags, config, dataset);
    }
  }
  return 0;
}
