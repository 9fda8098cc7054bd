// `vigil serve` as a library: the model, the sources, the pipeline, the
// spool, the uploader and the HTTP API, started and stopped together.
//
//   vigil::service::ServiceConfig config = load_config("serve.yaml");
//   vigil::service::Service service(config);   // loads the model
//   service.start();
//   while (!signalled && !service.done()) wait();
//   service.stop();   // graceful; returns when everything is spooled
//
// stop() closes the sources and the HTTP API to new frames, finishes every
// frame already accepted into the spool, then uploads for up to
// spool.drain_timeout_ms; whatever is still spooled is sent on the next
// start. Nothing accepted is lost.
//
// Errors: the constructor and start() throw vigil::Error naming the
// configuration key, the model file or the folder at fault. Thread-safety:
// start/stop/done from one thread; http_port and the getters from any.
#pragma once

#include <memory>
#include <vector>

#include "vigil/detector.h"
#include "vigil/service/config.h"
#include "vigil/service/http_api.h"
#include "vigil/service/metrics.h"
#include "vigil/service/pipeline.h"
#include "vigil/service/sources.h"
#include "vigil/service/spool.h"
#include "vigil/service/uploader.h"

namespace vigil::service {

class Service {
 public:
  // Validates `config`, loads the model and opens the spool.
  explicit Service(ServiceConfig config);
  ~Service();  // stop()
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  void start();
  void stop();

  // With exit_when_done: every finite source has ended, every frame is
  // done and the spool is empty. Always false otherwise.
  bool done() const;

  // The HTTP port actually bound (http.port 0 picks one); 0 without HTTP.
  int http_port() const;
  Readiness readiness() const;
  const Metrics& metrics() const { return metrics_; }
  const Spool& spool() const { return *spool_; }

 private:
  void add_gauges();
  void log_summary() const;

  const ServiceConfig config_;
  std::unique_ptr<Detector> detector_;
  Metrics metrics_;
  std::unique_ptr<Spool> spool_;
  std::unique_ptr<Uploader> uploader_;
  std::unique_ptr<Pipeline> pipeline_;
  std::vector<std::unique_ptr<Source>> sources_;
  std::unique_ptr<HttpApi> http_;
  bool started_ = false;
  bool stopped_ = false;
  std::atomic<bool> draining_{false};
};

}  // namespace vigil::service
