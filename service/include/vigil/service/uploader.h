// Moves spooled records to ReductStore, oldest first, in batches; removes
// each from the spool once the server has it. While the server cannot be
// reached it retries with a growing pause (0.1 s to 5 s) and the spool
// grows; nothing is dropped.
//
// "Has it" means found there, not only acknowledged: a ReductStore killed
// just after acknowledging a batch has come back without a record of it
// (about one run in 40 of the crash test). So an acknowledged record is
// held in the spool, and verify_after_ms later a query must find it before
// it is removed; one missing is sent again (removed first if the server
// kept it half-written), up to kMaxResends times, then set aside in
// failed/.
//
//   Uploader uploader(spool, metrics, {.client = {.url = url}});
//   uploader.start();
//   ...
//   uploader.stop();   // uploads what is left, for up to drain_timeout_ms
//
// No duplicates: a record keeps the timestamp it was given on acceptance,
// so a batch resent after a lost reply meets 409 "already exists" for the
// records that did arrive, which counts as stored.
//
// A record the server refuses for good (a 4xx other than 401/403/404/409
// /429) is moved to the spool's failed/ folder and logged.
//
// Thread-safe: start/stop from one thread; the getters from any.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "vigil/service/metrics.h"
#include "vigil/service/spool.h"
#include "vigil/storage/layout.h"
#include "vigil/storage/reduct_client.h"

namespace vigil::service {

struct UploaderOptions {
  storage::ClientOptions client = {};
  storage::Quotas quotas = {};
  int batch_records = 32;
  std::uint64_t batch_bytes = 8ULL << 20;  // about this much per request
  int drain_timeout_ms = 10000;
  // How long an acknowledged record waits in the spool before a query
  // must find it there.
  int verify_after_ms = 1000;
  // Microseconds since the Unix epoch, for the accepted-to-stored latency
  // (a frame's timestamp is its acceptance time).
  std::function<std::uint64_t()> now_us = {};
};

class Uploader {
 public:
  // `spool` and `metrics` must outlive the uploader.
  Uploader(Spool& spool, Metrics& metrics, UploaderOptions options);
  ~Uploader();  // stop()
  Uploader(const Uploader&) = delete;
  Uploader& operator=(const Uploader&) = delete;

  // Called from the uploader's thread for every frame record the server
  // confirmed (the benchmark measures latency with it). Set before start().
  void set_on_frame_stored(std::function<void(const SpoolItem&)> callback);

  void start();
  // Keeps uploading until the spool is empty or drain_timeout_ms passed,
  // then joins. What is left stays in the spool for the next start.
  void stop();

  // Whether the last request reached the server.
  bool storage_up() const { return up_.load(); }

 private:
  using Batch = std::vector<std::pair<std::uint64_t, SpoolItem>>;

  void run();
  bool ensure_buckets();
  // False when the server could not take the batch (retry later).
  bool send(Batch& batch);
  bool send_group(Batch& batch, const std::vector<std::size_t>& group);
  bool send_one_by_one(Batch& batch, const std::vector<std::size_t>& group);
  // The server acknowledged `item`: held in the spool until verified.
  void acknowledged(std::uint64_t seq, const SpoolItem& item);
  // Queries for the held records acknowledged verify_after_ms ago or more;
  // removes those found from the spool, sends the others again. False when
  // the server could not be asked.
  bool verify();
  // Found in ReductStore: out of the spool for good.
  void verified(std::uint64_t seq);
  // A held record the query did not find: sent again, or set aside.
  void missing(std::uint64_t seq);
  void refused(std::uint64_t seq, const SpoolItem& item,
               const std::string& reason);
  void mark_down(const std::string& cause);
  // Sleeps `ms`, or less when stop() asks to finish sooner.
  void pause(int ms);
  bool past_deadline() const;

  Spool& spool_;
  Metrics& metrics_;
  const UploaderOptions options_;
  storage::ReductClient client_;
  std::function<void(const SpoolItem&)> on_frame_stored_ = {};

  std::thread thread_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;                           // guarded by mutex_
  std::chrono::steady_clock::time_point deadline_;  // guarded by mutex_
  std::atomic<bool> up_{false};
  bool buckets_ready_ = false;  // uploader thread only
  bool logged_down_ = false;    // uploader thread only

  // Acknowledged records not yet found by a query (uploader thread only).
  struct Held {
    std::string bucket, entry;
    std::uint64_t timestamp_us = 0;
    std::chrono::steady_clock::time_point acknowledged_at;
    bool sent = true;  // false: released to be sent again
    int resends = 0;
  };
  std::map<std::uint64_t, Held> held_;  // by spool seq
  std::chrono::steady_clock::time_point last_verify_;
};

}  // namespace vigil::service
