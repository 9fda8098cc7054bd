// One frame on its way through the pipeline, and what became of it.
//
//   auto frame = std::make_unique<Frame>();
//   frame->source = "line-3";
//   frame->origin = "part_017.jpg";
//   frame->encoded = bytes;                     // or ->path, or ->bgr
//   frame->done = [](const Outcome& o) { ... };  // spooled, or refused
//   pipeline.submit(std::move(frame));
//
// A Frame is owned by the stage holding it; nothing in it is shared.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "vigil/detector.h"
#include "vigil/storage/layout.h"

namespace vigil::service {

// What became of a frame, given to Frame::done exactly once.
struct Outcome {
  // 200: spooled, hence acknowledged; 400 corrupt or truncated image, 413
  // too many pixels, 415 not an image format vigil decodes, 500 an
  // internal or I/O failure.
  int status = 200;
  std::string error = {};  // the cause, naming the frame, when status != 200
  std::uint64_t timestamp_us = 0;
  std::string entry = {};
  storage::FrameLabels labels = {};  // the verdict, when status == 200
  bool map_stored = false;
};

struct Frame {
  using Clock = std::chrono::steady_clock;

  // Set by the source.
  std::string source = {};  // as configured; stored as the "source" label
  std::string origin = {};  // file name, "frame <n>", upload name
  // The input, exactly one of: a file to read, encoded bytes (as received),
  // or a decoded video frame (CV_8UC3, BGR).
  std::string path = {};
  std::vector<std::uint8_t> encoded = {};
  cv::Mat bgr = {};
  // Called once from a pipeline thread; must not block for long.
  std::function<void(const Outcome&)> done = {};

  // Set on acceptance (Pipeline::submit).
  std::string entry = {};  // storage::entry_name(source)
  std::string frame_id = {};
  std::uint64_t timestamp_us = 0;  // unique across the service's frames
  Clock::time_point accepted_at;

  // Set by the stages.
  std::string content_type = {};  // of `encoded`
  cv::Mat rgb = {};               // CV_8UC3, RGB; released after inference
  Verdict verdict = {};
  std::vector<std::uint8_t> map_png = {};  // empty: no map stored
};

}  // namespace vigil::service
