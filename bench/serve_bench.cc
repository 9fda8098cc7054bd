// vigil_serve_bench: sustained frames per second through the serve
// pipeline (decode -> infer -> spool -> ReductStore) against inference
// alone, and the latency from acceptance to confirmation by ReductStore.
//
//   vigil_serve_bench --model padim.vigil [--frames 300] [--reduct-url URL]
//
// Without --reduct-url it starts a ReductStore of its own on a free port
// (as the tests do). Frames are the dataset's JPEGs held in memory, so the
// disk is not read; the spool is written (and fsynced) as in service.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "storage/reduct_server.h"
#include "support/test_support.h"
#include "vigil/detector.h"
#include "vigil/image_io.h"
#include "vigil/service/pipeline.h"
#include "vigil/service/spool.h"
#include "vigil/service/uploader.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using vigil::service::Pipeline;

struct BenchFlags {
  std::string model_path;
  std::string images = "../shared/datasets/magnetic_tile/test";
  int frames = 300;
  int rounds = 2;     // inference alone and pipeline, alternating
  int distinct = 64;  // distinct images cycled through
  int infer_threads = 1;
  int model_threads = 0;
  std::string maps = "anomalous";
  bool fsync = true;
  std::string reduct_url;
  std::string reduct_token;
};

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::uint64_t now_us() {
  return std::uint64_t(std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count());
}

double quantile(std::vector<double> values, double q) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  std::size_t i = std::size_t(q * double(values.size() - 1) + 0.5);
  return values[std::min(i, values.size() - 1)];
}

// CPU seconds (user + system, all threads) `pid` has used, from
// /proc/<pid>/stat; 0 when it cannot be read. Sets *parent to its ppid.
double cpu_seconds(const std::string& pid, long* parent = nullptr) {
  std::ifstream file("/proc/" + pid + "/stat");
  std::string stat((std::istreambuf_iterator<char>(file)),
                   std::istreambuf_iterator<char>());
  std::size_t name_end = stat.rfind(')');  // the name may hold spaces
  if (name_end == std::string::npos) return 0.0;
  std::istringstream fields(stat.substr(name_end + 2));
  std::vector<std::string> f((std::istream_iterator<std::string>(fields)),
                             std::istream_iterator<std::string>());
  if (f.size() < 13) return 0.0;
  if (parent != nullptr) *parent = std::stol(f[1]);
  return double(std::stoull(f[11]) + std::stoull(f[12])) /
         double(sysconf(_SC_CLK_TCK));
}

// This process and its running children (the ReductStore it started): on
// a machine shared with other work, CPU time per frame is what storing
// costs, where wall-clock rates also measure the neighbours.
double cpu_seconds_with_children() {
  double total = cpu_seconds(std::to_string(getpid()));
  std::error_code ignored;
  for (const auto& entry : fs::directory_iterator("/proc", ignored)) {
    std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    long parent = 0;
    double seconds = cpu_seconds(name, &parent);
    if (parent == getpid()) total += seconds;
  }
  return total;
}

struct Rate {
  double fps = 0.0;
  double cpu_ms_per_frame = 0.0;

  void add_mean(const Rate& r, int n) {
    fps += r.fps / n;
    cpu_ms_per_frame += r.cpu_ms_per_frame / n;
  }
};

struct Frames {
  std::vector<std::vector<std::uint8_t>> encoded;  // the files' bytes
  std::vector<cv::Mat> decoded;                    // the same, RGB
};

std::vector<std::vector<std::uint8_t>> load_frames(const BenchFlags& f) {
  std::vector<std::string> paths;
  for (const auto& entry : fs::recursive_directory_iterator(f.images)) {
    if (entry.is_regular_file() &&
        vigil::has_image_extension(entry.path().string())) {
      paths.push_back(entry.path().string());
    }
  }
  if (paths.empty()) throw vigil::Error(f.images, "holds no image");
  std::sort(paths.begin(), paths.end());
  // Spread over the folders (normal and defective alike).
  std::vector<std::vector<std::uint8_t>> frames;
  std::size_t step = std::max<std::size_t>(1, paths.size() / f.distinct);
  for (std::size_t i = 0; i < paths.size() && int(frames.size()) < f.distinct;
       i += step) {
    frames.push_back(vigil::read_file_bytes(paths[i]));
  }
  return frames;
}

// Inference without storage, `threads` at a time as the pipeline's infer
// stage runs it: on frames decoded beforehand, or decoding each first.
Rate inference_rate(const vigil::Detector& detector, const Frames& frames,
                    int n, int threads, bool decode) {
  std::atomic<int> next{0};
  double cpu_start = cpu_seconds_with_children();
  Clock::time_point start = Clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (int i = next++; i < n; i = next++) {
        std::size_t k = std::size_t(i) % frames.decoded.size();
        detector.predict(decode ? vigil::decode_image(frames.encoded[k], "f")
                                : frames.decoded[k]);
      }
    });
  }
  for (auto& worker : workers) worker.join();
  return {n / seconds_since(start),
          1000.0 * (cpu_seconds_with_children() - cpu_start) / n};
}

struct PipelineRun {
  Rate rate;
  double p50_ms = 0.0, p99_ms = 0.0;
  int stored = 0;
};

// Submits `frames` frames (every `pace_s` seconds, or as fast as the
// pipeline takes them when 0) and waits until ReductStore has all.
PipelineRun run_pipeline(const vigil::Detector& detector,
                         const std::vector<std::vector<std::uint8_t>>& frames,
                         const BenchFlags& f,
                         const vigil::storage::ClientOptions& storage, int n,
                         double pace_s) {
  vigil::testing::TempDir spool_dir;
  vigil::service::Metrics metrics;
  vigil::service::Spool spool(
      {.dir = (spool_dir / "spool").string(), .fsync = f.fsync});
  vigil::service::Uploader uploader(spool, metrics, {.client = storage});
  std::mutex mutex;
  std::vector<double> latencies_ms;
  uploader.set_on_frame_stored([&](const vigil::service::SpoolItem& item) {
    double ms = double(now_us() - item.record.timestamp_us) / 1000.0;
    std::lock_guard lock(mutex);
    latencies_ms.push_back(ms);
  });
  vigil::service::PipelineOptions options;
  options.threads_and_queues.infer_threads = f.infer_threads;
  options.maps = f.maps;
  options.model_name = "bench";
  Pipeline pipeline(detector, spool, metrics, options);
  uploader.start();
  pipeline.start();

  double cpu_start = cpu_seconds_with_children();
  Clock::time_point start = Clock::now();
  for (int i = 0; i < n; ++i) {
    if (pace_s > 0) {
      std::this_thread::sleep_until(
          start + std::chrono::duration_cast<Clock::duration>(
                      std::chrono::duration<double>(i * pace_s)));
    }
    auto frame = std::make_unique<vigil::service::Frame>();
    frame->source = "bench";
    frame->encoded = frames[std::size_t(i) % frames.size()];
    pipeline.submit(std::move(frame));
  }
  while (metrics.frames_stored.value() < std::uint64_t(n)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  PipelineRun run;
  run.rate = {n / seconds_since(start),
              1000.0 * (cpu_seconds_with_children() - cpu_start) / n};
  pipeline.drain();
  uploader.stop();
  std::lock_guard lock(mutex);
  run.stored = int(latencies_ms.size());
  run.p50_ms = quantile(latencies_ms, 0.50);
  run.p99_ms = quantile(latencies_ms, 0.99);
  return run;
}

void print_rate(const char* what, const Rate& r) {
  std::printf("%-34s %7.2f frames/s  %6.1f ms CPU/frame\n", what, r.fps,
              r.cpu_ms_per_frame);
}

// The CPU ratio is what storing costs on a machine whose CPU is the limit
// (an edge box); the wall-clock one also measures the neighbours.
void print_ratio(const char* baseline, const Rate& base, const Rate& full) {
  double cpu_ratio = base.cpu_ms_per_frame / full.cpu_ms_per_frame;
  std::printf(
      "pipeline / %s: %.3f by wall clock, %.3f by CPU time: "
      "storing costs %.1f %% of the throughput (target < 20 %%)\n",
      baseline, full.fps / base.fps, cpu_ratio, 100.0 * (1.0 - cpu_ratio));
}

void run_bench(const BenchFlags& f) {
  auto detector = vigil::Detector::open(f.model_path, {"", f.model_threads});
  std::vector<std::vector<std::uint8_t>> encoded = load_frames(f);
  std::vector<cv::Mat> decoded;
  for (const auto& bytes : encoded) {
    decoded.push_back(vigil::decode_image(bytes, "frame"));
  }
  std::printf(
      "model %s (%s), %zu distinct frames from %s, %d frames per "
      "run, %d infer thread(s), maps: %s, fsync: %s\n",
      f.model_path.c_str(), detector->info().type.c_str(), encoded.size(),
      f.images.c_str(), f.frames, f.infer_threads, f.maps.c_str(),
      f.fsync ? "on" : "off");

  std::unique_ptr<vigil::testing::ReductServer> server;
  vigil::storage::ClientOptions storage{.url = f.reduct_url,
                                        .api_token = f.reduct_token};
  if (f.reduct_url.empty()) {
    server = std::make_unique<vigil::testing::ReductServer>();
    storage = server->client_options();
  }
  std::printf("ReductStore at %s\n", storage.url.c_str());

  // Rounds alternate so that a change in the machine's load (other work
  // on a shared machine) falls on all sides alike.
  Frames set{encoded, decoded};
  inference_rate(*detector, set, 10, f.infer_threads, false);  // warm-up
  Rate alone, decoding, full;
  for (int round = 1; round <= f.rounds; ++round) {
    Rate a = inference_rate(*detector, set, f.frames, f.infer_threads, false);
    Rate d = inference_rate(*detector, set, f.frames, f.infer_threads, true);
    PipelineRun p = run_pipeline(*detector, encoded, f, storage, f.frames, 0);
    std::printf(
        "round %d: inference %.2f frames/s (%.1f ms CPU/frame), decode + "
        "inference %.2f (%.1f), pipeline with storage %.2f (%.1f), "
        "accepted->stored p50 %.0f ms p99 %.0f ms (saturated, %d stored)\n",
        round, a.fps, a.cpu_ms_per_frame, d.fps, d.cpu_ms_per_frame, p.rate.fps,
        p.rate.cpu_ms_per_frame, p.p50_ms, p.p99_ms, p.stored);
    alone.add_mean(a, f.rounds);
    decoding.add_mean(d, f.rounds);
    full.add_mean(p.rate, f.rounds);
  }
  print_rate("inference alone (decoded frames)", alone);
  print_rate("decode + inference", decoding);
  print_rate("pipeline, storage on", full);
  print_ratio("inference alone", alone, full);
  print_ratio("decode + inference", decoding, full);

  // At half the sustained rate: latency without queueing.
  int paced_n = std::max(20, f.frames / 3);
  PipelineRun paced =
      run_pipeline(*detector, encoded, f, storage, paced_n, 2.0 / full.fps);
  std::printf(
      "pipeline at %.1f frames/s: accepted->stored p50 %.1f ms  "
      "p99 %.1f ms (%d stored)\n",
      full.fps / 2, paced.p50_ms, paced.p99_ms, paced.stored);
}

}  // namespace

int main(int argc, char** argv) {
  BenchFlags f;
  CLI::App app{"vigil_serve_bench: serve throughput with storage on"};
  app.add_option("--model", f.model_path, "trained model file")->required();
  app.add_option("--images", f.images, "folder of frames (recursive)")
      ->capture_default_str();
  app.add_option("--frames", f.frames, "frames per run")->capture_default_str();
  app.add_option("--rounds", f.rounds, "alternating rounds")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--distinct", f.distinct, "distinct images cycled")
      ->capture_default_str();
  app.add_option("--infer-threads", f.infer_threads, "pipeline infer threads")
      ->capture_default_str();
  app.add_option("--model-threads", f.model_threads,
                 "ONNX Runtime threads (0: all cores)");
  app.add_option("--maps", f.maps, "anomalous, all or none")
      ->capture_default_str();
  app.add_option("--fsync", f.fsync, "fsync each spooled record")
      ->capture_default_str();
  app.add_option("--reduct-url", f.reduct_url,
                 "an existing ReductStore (default: start one)");
  app.add_option("--reduct-token", f.reduct_token, "its API token");
  CLI11_PARSE(app, argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // figures appear as they come
  spdlog::set_level(spdlog::level::warn);
  try {
    run_bench(f);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vigil_serve_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
