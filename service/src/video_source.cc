// A video file, camera or stream through cv::VideoCapture.
#include <atomic>
#include <chrono>
#include <filesystem>

#include <spdlog/spdlog.h>
#include <opencv2/videoio.hpp>

#include "stoppable_thread.h"
#include "vigil/service/sources.h"

namespace vigil::service {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

bool is_camera_index(const std::string& uri) {
  return !uri.empty() &&
         uri.find_first_not_of("0123456789") == std::string::npos;
}

bool is_stream(const std::string& uri) {
  return uri.find("://") != std::string::npos;
}

// "line-cam" for rtsp://user@line-cam:554/stream, "camera-0" for 0, the
// stem for a file.
std::string default_name(const std::string& uri) {
  if (is_camera_index(uri)) return "camera-" + uri;
  if (!is_stream(uri)) return fs::path(uri).stem().string();
  std::string rest = uri.substr(uri.find("://") + 3);
  rest = rest.substr(0, rest.find_first_of("/?"));
  if (auto at = rest.rfind('@'); at != std::string::npos) {
    rest = rest.substr(at + 1);
  }
  return rest.substr(0, rest.find(':'));
}

class VideoSource : public Source {
 public:
  VideoSource(const VideoConfig& config, Pipeline& pipeline)
      : config_(config),
        pipeline_(pipeline),
        name_(config.source.empty() ? default_name(config.uri) : config.source),
        live_(is_camera_index(config.uri) || is_stream(config.uri)) {}

  const std::string& name() const override { return name_; }

  void start() override {
    thread_.start([this] { run(); });
  }

  void request_stop() override { thread_.request_stop(); }
  void join() override { thread_.join(); }

  bool finished() const override {
    return ended_.load() && in_flight_.load() == 0;
  }

 private:
  void run() {
    while (!stopping()) {
      cv::VideoCapture capture;
      if (open(capture)) read_all(capture);
      if (!live_) break;
      if (!stopping()) {
        spdlog::warn("{}: no frames; reopening in {} ms", config_.uri,
                     config_.reconnect_ms);
        thread_.sleep_ms(config_.reconnect_ms);
      }
    }
    ended_.store(true);
  }

  bool open(cv::VideoCapture& capture) {
    bool opened = is_camera_index(config_.uri)
                      ? capture.open(std::stoi(config_.uri))
                      : capture.open(config_.uri);
    if (!opened) {
      spdlog::error(
          "{}: cannot open video (missing file, unsupported "
          "codec or unreachable stream)",
          config_.uri);
      return false;
    }
    spdlog::info("reading {} as source '{}' ({:.1f} fps)", config_.uri, name_,
                 capture.get(cv::CAP_PROP_FPS));
    return true;
  }

  void read_all(cv::VideoCapture& capture) {
    cv::Mat bgr;
    double last_taken_ms = -1e300;
    while (!stopping() && capture.read(bgr) && !bgr.empty()) {
      double at_ms = position_ms(capture);
      if (config_.max_fps > 0 &&
          at_ms - last_taken_ms < 1000.0 / config_.max_fps) {
        ++frame_index_;
        continue;
      }
      last_taken_ms = at_ms;
      if (!submit(bgr.clone())) return;
    }
    if (!live_) {
      spdlog::info("{}: end of video after {} frame(s)", config_.uri,
                   frame_index_);
    }
  }

  // The file's own clock for files (so max_fps thins a replay the same
  // way whatever the speed), the wall clock for live sources.
  double position_ms(cv::VideoCapture& capture) const {
    if (!live_) return capture.get(cv::CAP_PROP_POS_MSEC);
    return std::chrono::duration<double, std::milli>(
               Clock::now().time_since_epoch())
        .count();
  }

  bool submit(cv::Mat bgr) {
    auto frame = std::make_unique<Frame>();
    frame->source = name_;
    frame->origin = "frame " + std::to_string(frame_index_++);
    frame->bgr = std::move(bgr);
    frame->done = [this](const Outcome&) { in_flight_.fetch_sub(1); };
    in_flight_.fetch_add(1);
    if (pipeline_.submit(std::move(frame))) return true;
    in_flight_.fetch_sub(1);
    return false;
  }

  bool stopping() const { return thread_.stopping(); }

  const VideoConfig config_;
  Pipeline& pipeline_;
  const std::string name_;
  const bool live_;
  std::uint64_t frame_index_ = 0;  // reader thread only

  std::atomic<bool> ended_{false};
  std::atomic<int> in_flight_{0};
  // Last: stopped and joined before the members its thread uses go.
  StoppableThread thread_;
};

}  // namespace

std::unique_ptr<Source> make_video_source(const VideoConfig& config,
                                          Pipeline& pipeline) {
  return std::make_unique<VideoSource>(config, pipeline);
}

}  // namespace vigil::service
