#include "vigil/service/metrics.h"

#include <algorithm>
#include <sstream>

namespace vigil::service {
namespace {

void header(std::ostringstream& out, const std::string& name,
            const std::string& help, const char* type) {
  out << "# HELP " << name << " " << help << "\n";
  out << "# TYPE " << name << " " << type << "\n";
}

void counter(std::ostringstream& out, const std::string& name,
             const std::string& help, const Counter& c) {
  header(out, name, help, "counter");
  out << name << " " << c.value() << "\n";
}

}  // namespace

void Histogram::observe(double ms) {
  auto bound = std::lower_bound(kBoundsMs.begin(), kBoundsMs.end(), ms);
  std::lock_guard lock(mutex_);
  ++counts_[std::size_t(bound - kBoundsMs.begin())];
  sum_ms_ += ms;
  ++count_;
}

std::uint64_t Histogram::count() const {
  std::lock_guard lock(mutex_);
  return count_;
}

std::string Histogram::render(const std::string& name,
                              const std::string& help) const {
  std::ostringstream out;
  header(out, name, help, "histogram");
  std::lock_guard lock(mutex_);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < kBoundsMs.size(); ++i) {
    cumulative += counts_[i];
    out << name << "_bucket{le=\"" << kBoundsMs[i] << "\"} " << cumulative
        << "\n";
  }
  out << name << "_bucket{le=\"+Inf\"} " << count_ << "\n";
  out << name << "_sum " << sum_ms_ << "\n";
  out << name << "_count " << count_ << "\n";
  return out.str();
}

void Metrics::add_gauge(std::string name, std::string help,
                        std::function<double()> read) {
  std::lock_guard lock(gauges_mutex_);
  gauges_.push_back({std::move(name), std::move(help), std::move(read)});
}

std::string Metrics::render() const {
  std::ostringstream out;
  counter(out, "vigil_frames_in_total", "frames accepted", frames_in);
  counter(out, "vigil_frames_spooled_total",
          "frames written to the spool (acknowledged)", frames_spooled);
  counter(out, "vigil_frames_stored_total", "frames ReductStore confirmed",
          frames_stored);
  counter(out, "vigil_frames_failed_total",
          "frames refused after acceptance (bad image, I/O error)",
          frames_failed);
  counter(out, "vigil_frames_rejected_total",
          "frames not accepted (queue full, shutting down)", frames_rejected);
  counter(out, "vigil_maps_stored_total", "anomaly maps ReductStore confirmed",
          maps_stored);
  counter(out, "vigil_upload_errors_total",
          "failed uploads to ReductStore (retried)", upload_errors);

  out << decode_ms.render("vigil_decode_latency_ms",
                          "reading and decoding one frame");
  out << infer_ms.render("vigil_infer_latency_ms",
                         "inference on one frame, with its map PNG");
  out << spool_ms.render("vigil_spool_latency_ms",
                         "writing one frame's records to the spool");
  out << upload_ms.render("vigil_upload_latency_ms",
                          "one batch request to ReductStore");
  out << accepted_to_spooled_ms.render(
      "vigil_accepted_to_spooled_latency_ms",
      "from acceptance to acknowledgement (spooled)");
  out << accepted_to_stored_ms.render(
      "vigil_accepted_to_stored_latency_ms",
      "from acceptance to confirmation by ReductStore");

  std::lock_guard lock(gauges_mutex_);
  for (const Gauge& gauge : gauges_) {
    header(out, gauge.name, gauge.help, "gauge");
    out << gauge.name << " " << gauge.read() << "\n";
  }
  return out.str();
}

}  // namespace vigil::service
