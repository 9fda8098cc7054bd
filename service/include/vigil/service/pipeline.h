// The frame pipeline: decode -> infer -> spool, each stage its own threads,
// joined by bounded queues so that a slow stage makes the sources wait
// instead of filling memory.
//
//   Pipeline pipeline(*detector, spool, metrics, options);
//   pipeline.start();
//   pipeline.submit(std::move(frame));   // waits for room: back-pressure
//   ...
//   pipeline.drain();   // takes no more; finishes and spools what it has
//
// A frame is accepted when submit() returns true. From then on it reaches
// its done callback exactly once: spooled (status 200), or refused with the
// cause (a bad image, an I/O failure). What is spooled reaches ReductStore
// through the Uploader.
//
// Thread-safe: submit/try_submit from any thread. start() and drain() from
// one thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "vigil/detector.h"
#include "vigil/image_io.h"
#include "vigil/service/bounded_queue.h"
#include "vigil/service/config.h"
#include "vigil/service/frame.h"
#include "vigil/service/metrics.h"
#include "vigil/service/spool.h"

namespace vigil::service {

struct PipelineOptions {
  PipelineConfig threads_and_queues = {};
  std::string maps = "anomalous";  // anomalous, all, none (StorageConfig)
  ImageReadOptions image = {};     // max_pixels
  std::string model_name = {};     // labels of every frame
  std::string model_version = {};
  // Microseconds since the Unix epoch; replaced by tests.
  std::function<std::uint64_t()> now_us = {};
};

class Pipeline {
 public:
  // `detector`, `spool` and `metrics` must outlive the pipeline.
  Pipeline(const Detector& detector, Spool& spool, Metrics& metrics,
           PipelineOptions options);
  ~Pipeline();  // drain()
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  void start();

  // Accepts `frame`, waiting while the first queue is full or the spool is
  // over its limit. False once the pipeline is draining (frame dropped,
  // done not called).
  bool submit(std::unique_ptr<Frame> frame);
  // As submit, but never waits: false, with `frame` left to the caller,
  // when the pipeline is full or draining.
  bool try_submit(std::unique_ptr<Frame>& frame);

  // Stops accepting, finishes every accepted frame and joins the threads.
  void drain();

  std::size_t decode_depth() const { return decode_queue_.size(); }
  std::size_t infer_depth() const { return infer_queue_.size(); }
  std::size_t store_depth() const { return store_queue_.size(); }
  // Frames accepted and not yet done.
  std::uint64_t in_flight() const { return in_flight_.load(); }

 private:
  using FramePtr = std::unique_ptr<Frame>;

  void accept(Frame& frame);
  // Accepts `frame` and queues it for decoding, waiting for room or not;
  // on false `frame` is left to the caller.
  bool enqueue(FramePtr& frame, bool wait);
  void run_decode();
  void run_infer();
  void run_store();
  // Pops frames from `in` until it is closed, runs `work` on each, times
  // it into `stage_ms` and hands the frame to `out` (null: the work
  // finished it). A frame whose work throws is finished with status 500,
  // logged as "<failure> <source>/<frame_id>: <cause>".
  void run_stage(BoundedQueue<FramePtr>& in, BoundedQueue<FramePtr>* out,
                 const std::function<void(Frame&)>& work, Histogram& stage_ms,
                 const char* failure);
  void decode(Frame& frame) const;
  void infer(Frame& frame) const;
  void spool(Frame& frame);
  void finish(Frame& frame, Outcome outcome);

  const Detector& detector_;
  Spool& spool_;
  Metrics& metrics_;
  const PipelineOptions options_;
  const std::string id_prefix_;  // random per process: ids never repeat

  BoundedQueue<FramePtr> decode_queue_;
  BoundedQueue<FramePtr> infer_queue_;
  BoundedQueue<FramePtr> store_queue_;
  std::vector<std::thread> decoders_, inferers_, storers_;

  std::mutex clock_mutex_;
  std::uint64_t last_timestamp_us_ = 0;  // guarded by clock_mutex_
  std::atomic<std::uint64_t> next_id_{1};
  std::atomic<std::uint64_t> in_flight_{0};
  bool started_ = false;
  bool drained_ = false;
};

// "image/png", "image/jpeg", "image/bmp", "image/tiff", "image/webp",
// "image/x-portable-anymap", or "" for bytes vigil does not decode, judged
// by their first bytes.
std::string sniff_image_type(const std::vector<std::uint8_t>& bytes);

}  // namespace vigil::service
