// The service's counters, gauges and latency histograms, and their
// Prometheus text form (GET /metrics).
//
//   Metrics metrics;
//   metrics.frames_in.add();
//   metrics.infer_ms.observe(12.5);
//   metrics.add_gauge("vigil_spool_bytes", "bytes in the spool",
//                     [&] { return double(spool.size_bytes()); });
//   std::string text = metrics.render();
//
// Thread-safe: counters and histograms may be updated from any thread
// while render() runs. Gauges are read at render() time, so their
// callbacks must be safe to call from the HTTP threads.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace vigil::service {

class Counter {
 public:
  void add(std::uint64_t n = 1) { value_.fetch_add(n); }
  std::uint64_t value() const { return value_.load(); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// Latencies in milliseconds, counted in fixed buckets from 1 ms to 30 s.
class Histogram {
 public:
  static constexpr std::array<double, 14> kBoundsMs = {
      1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000};

  void observe(double ms);
  // Prometheus lines for metric `name` (buckets, sum, count).
  std::string render(const std::string& name, const std::string& help) const;
  std::uint64_t count() const;

 private:
  mutable std::mutex mutex_;
  std::array<std::uint64_t, kBoundsMs.size() + 1> counts_{};  // last: +Inf
  double sum_ms_ = 0.0;
  std::uint64_t count_ = 0;
};

struct Metrics {
  Counter frames_in;        // frames accepted by the pipeline
  Counter frames_spooled;   // frames written to the spool (acknowledged)
  Counter frames_stored;    // frame records ReductStore confirmed
  Counter frames_failed;    // refused after acceptance: bad image, I/O
  Counter frames_rejected;  // never accepted: queue full, shutting down
  Counter maps_stored;
  Counter upload_errors;  // failed upload attempts (retried)

  Histogram decode_ms;  // read + decode (+ PNG encode of video frames)
  Histogram infer_ms;   // Detector::predict (+ anomaly map PNG)
  Histogram spool_ms;   // writing the frame's records to the spool
  Histogram upload_ms;  // one batch request to ReductStore
  Histogram accepted_to_spooled_ms;
  Histogram accepted_to_stored_ms;  // until ReductStore confirmed the frame

  void add_gauge(std::string name, std::string help,
                 std::function<double()> read);
  std::string render() const;

 private:
  struct Gauge {
    std::string name, help;
    std::function<double()> read;
  };
  mutable std::mutex gauges_mutex_;
  std::vector<Gauge> gauges_;
};

}  // namespace vigil::service
