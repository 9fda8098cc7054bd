#include "vigil/service/pipeline.h"

#include <chrono>
#include <cstring>
#include <random>
#include <string_view>

#include <spdlog/spdlog.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "vigil/error.h"
#include "vigil/stopwatch.h"

namespace vigil::service {
namespace {

// A frame the pipeline refuses, with the HTTP status that says why.
struct Refusal {
  int status;
  std::string message;
};

std::uint64_t system_now_us() {
  return std::uint64_t(std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count());
}

std::string random_prefix() {
  std::random_device device;
  char text[16];
  std::snprintf(text, sizeof(text), "%08x", unsigned(device()));
  return text;
}

bool starts_with(const std::vector<std::uint8_t>& bytes, std::string_view magic,
                 std::size_t offset = 0) {
  return bytes.size() >= offset + magic.size() &&
         std::memcmp(bytes.data() + offset, magic.data(), magic.size()) == 0;
}

// Lossless and fast: level 1 costs a little size and saves most of the
// time of the default level.
std::vector<std::uint8_t> encode_png(const cv::Mat& image) {
  std::vector<std::uint8_t> png;
  cv::imencode(".png", image, png, {cv::IMWRITE_PNG_COMPRESSION, 1});
  return png;
}

// The anomaly map, CV_32FC1 in [0, 1], as 8-bit gray: 0..255.
std::vector<std::uint8_t> encode_map(const cv::Mat& anomaly_map) {
  cv::Mat gray;
  anomaly_map.convertTo(gray, CV_8U, 255.0);
  return encode_png(gray);
}

}  // namespace

std::string sniff_image_type(const std::vector<std::uint8_t>& bytes) {
  using namespace std::string_view_literals;
  if (starts_with(bytes, "\x89PNG\r\n\x1a\n")) return "image/png";
  if (starts_with(bytes, "\xff\xd8\xff")) return "image/jpeg";
  if (starts_with(bytes, "BM")) return "image/bmp";
  if (starts_with(bytes, "II*") || starts_with(bytes, "MM\x00*"sv)) {
    return "image/tiff";
  }
  if (starts_with(bytes, "RIFF") && starts_with(bytes, "WEBP", 8)) {
    return "image/webp";
  }
  if (bytes.size() >= 2 && bytes[0] == 'P' && bytes[1] >= '1' &&
      bytes[1] <= '6') {
    return "image/x-portable-anymap";
  }
  return "";
}

Pipeline::Pipeline(const Detector& detector, Spool& spool, Metrics& metrics,
                   PipelineOptions options)
    : detector_(detector),
      spool_(spool),
      metrics_(metrics),
      options_(std::move(options)),
      id_prefix_(random_prefix()),
      decode_queue_(options_.threads_and_queues.queue_size),
      infer_queue_(options_.threads_and_queues.queue_size),
      store_queue_(options_.threads_and_queues.queue_size) {}

Pipeline::~Pipeline() { drain(); }

void Pipeline::start() {
  VIGIL_ASSERT(!started_);
  started_ = true;
  const PipelineConfig& c = options_.threads_and_queues;
  for (int i = 0; i < c.decode_threads; ++i) {
    decoders_.emplace_back([this] { run_decode(); });
  }
  for (int i = 0; i < c.infer_threads; ++i) {
    inferers_.emplace_back([this] { run_infer(); });
  }
  // One writer keeps the spool in acceptance order as far as inference
  // allows.
  storers_.emplace_back([this] { run_store(); });
}

void Pipeline::accept(Frame& frame) {
  std::uint64_t now = options_.now_us ? options_.now_us() : system_now_us();
  {
    // Strictly increasing: one timestamp names one frame in every bucket.
    std::lock_guard lock(clock_mutex_);
    last_timestamp_us_ = std::max(now, last_timestamp_us_ + 1);
    frame.timestamp_us = last_timestamp_us_;
  }
  frame.entry = storage::entry_name(frame.source);
  frame.frame_id = id_prefix_ + "-" + std::to_string(next_id_.fetch_add(1));
  frame.accepted_at = Clock::now();
}

bool Pipeline::enqueue(FramePtr& frame, bool wait) {
  accept(*frame);
  in_flight_.fetch_add(1);
  bool queued = wait ? decode_queue_.push(std::move(frame))
                     : decode_queue_.try_push(std::move(frame));
  if (!queued) {
    in_flight_.fetch_sub(1);
    metrics_.frames_rejected.add();
    return false;
  }
  metrics_.frames_in.add();
  return true;
}

bool Pipeline::submit(std::unique_ptr<Frame> frame) {
  return enqueue(frame, /*wait=*/true);
}

bool Pipeline::try_submit(std::unique_ptr<Frame>& frame) {
  if (spool_.full()) {
    metrics_.frames_rejected.add();
    return false;
  }
  return enqueue(frame, /*wait=*/false);
}

void Pipeline::drain() {
  if (!started_ || drained_) return;
  drained_ = true;
  // Frames already accepted are spooled whatever the spool's size.
  spool_.set_bounded(false);
  decode_queue_.close();
  for (auto& thread : decoders_) thread.join();
  infer_queue_.close();
  for (auto& thread : inferers_) thread.join();
  store_queue_.close();
  for (auto& thread : storers_) thread.join();
}

void Pipeline::run_decode() {
  while (auto frame = decode_queue_.pop()) {
    Clock::time_point start = Clock::now();
    try {
      decode(**frame);
    } catch (const Refusal& refusal) {
      finish(**frame, {.status = refusal.status, .error = refusal.message});
      continue;
    }
    metrics_.decode_ms.observe(ms_since(start));
    infer_queue_.push(std::move(*frame));
  }
}

void Pipeline::decode(Frame& frame) const {
  const std::string name =
      frame.source + "/" +
      (frame.origin.empty() ? frame.frame_id : frame.origin);
  if (!frame.bgr.empty()) {
    cv::cvtColor(
        frame.bgr, frame.rgb,
        frame.bgr.channels() == 1 ? cv::COLOR_GRAY2RGB : cv::COLOR_BGR2RGB);
    frame.encoded = encode_png(frame.bgr);
    frame.content_type = "image/png";
    frame.bgr.release();
    return;
  }
  try {
    if (!frame.path.empty()) frame.encoded = read_file_bytes(frame.path);
  } catch (const Error& e) {
    throw Refusal{400, e.what()};
  }
  if (frame.encoded.empty()) throw Refusal{400, name + ": empty image"};
  frame.content_type = sniff_image_type(frame.encoded);
  if (frame.content_type.empty()) {
    throw Refusal{415, name +
                           ": not an image format vigil decodes (PNG, JPEG, "
                           "BMP, TIFF, WebP, PNM)"};
  }
  try {
    frame.rgb = decode_image(frame.encoded, name, options_.image);
  } catch (const Error& e) {
    // decode_image names the pixel limit in its message; that one is the
    // client's "too large", every other failure a bad image.
    bool too_large = std::strstr(e.what(), "more than the limit") != nullptr;
    throw Refusal{too_large ? 413 : 400, e.what()};
  }
}

void Pipeline::run_stage(BoundedQueue<FramePtr>& in,
                         BoundedQueue<FramePtr>* out,
                         const std::function<void(Frame&)>& work,
                         Histogram& stage_ms, const char* failure) {
  while (auto frame = in.pop()) {
    Clock::time_point start = Clock::now();
    try {
      work(**frame);
    } catch (const std::exception& e) {
      spdlog::error("{} {}/{}: {}", failure, (*frame)->source,
                    (*frame)->frame_id, e.what());
      finish(**frame, {.status = 500, .error = e.what()});
      continue;
    }
    stage_ms.observe(ms_since(start));
    if (out != nullptr) out->push(std::move(*frame));
  }
}

void Pipeline::run_infer() {
  run_stage(
      infer_queue_, &store_queue_, [this](Frame& frame) { infer(frame); },
      metrics_.infer_ms, "inference failed on");
}

void Pipeline::infer(Frame& frame) const {
  frame.verdict = detector_.predict(frame.rgb);
  frame.rgb.release();
  bool store_map = options_.maps == "all" ||
                   (options_.maps == "anomalous" && frame.verdict.pred_label);
  if (store_map) frame.map_png = encode_map(frame.verdict.anomaly_map);
  frame.verdict.anomaly_map.release();
  frame.verdict.pred_mask.release();
}

void Pipeline::run_store() {
  // spool() finishes the frame itself: nothing goes further.
  run_stage(
      store_queue_, nullptr, [this](Frame& frame) { spool(frame); },
      metrics_.spool_ms, "cannot spool");
}

void Pipeline::spool(Frame& frame) {
  const Verdict& v = frame.verdict;
  storage::FrameLabels labels{.model = options_.model_name,
                              .model_version = options_.model_version,
                              .pred_score = v.pred_score,
                              .pred_label = v.pred_label,
                              .raw_score = v.raw_score,
                              .latency_ms = v.timings.total_ms,
                              .source = frame.source,
                              .frame_id = frame.frame_id,
                              .origin = frame.origin};
  std::vector<SpoolItem> items;
  items.push_back(
      {storage::kFramesBucket, frame.entry,
       storage::frame_record(frame.timestamp_us, std::move(frame.encoded),
                             frame.content_type, labels)});
  bool map_stored = !frame.map_png.empty();
  if (map_stored) {
    items.push_back({storage::kMapsBucket, frame.entry,
                     storage::map_record(frame.timestamp_us,
                                         std::move(frame.map_png), labels)});
  }
  spool_.put(items);

  metrics_.frames_spooled.add();
  metrics_.accepted_to_spooled_ms.observe(ms_since(frame.accepted_at));
  finish(frame, {.status = 200,
                 .timestamp_us = frame.timestamp_us,
                 .entry = frame.entry,
                 .labels = labels,
                 .map_stored = map_stored});
}

void Pipeline::finish(Frame& frame, Outcome outcome) {
  if (outcome.status != 200) {
    metrics_.frames_failed.add();
    spdlog::warn("frame {} refused ({}): {}", frame.frame_id, outcome.status,
                 outcome.error);
  }
  if (outcome.timestamp_us == 0) outcome.timestamp_us = frame.timestamp_us;
  if (outcome.entry.empty()) outcome.entry = frame.entry;
  if (outcome.labels.frame_id.empty()) outcome.labels.frame_id = frame.frame_id;
  if (frame.done) {
    try {
      frame.done(outcome);
    } catch (const std::exception& e) {
      spdlog::error("frame {}: completion callback failed: {}", frame.frame_id,
                    e.what());
    }
  }
  in_flight_.fetch_sub(1);
}

}  // namespace vigil::service
