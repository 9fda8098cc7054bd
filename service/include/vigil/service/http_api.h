// The service's HTTP face (cpp-httplib):
//
//   GET  /healthz    200 {"status":"alive"} while the process runs
//   GET  /readyz     200 when the model is loaded and frames can be stored
//                    (ReductStore reachable, or the spool has room); else
//                    503; the body says which
//   GET  /metrics    Prometheus text (see metrics.h)
//   POST /v1/infer   an image in (the raw body, or a multipart field
//                    "image"), the verdict out as JSON, once the frame is
//                    spooled; ?source=NAME sets the source (default
//                    "http"), ?name=NAME the origin label
//
// Every POST needs "Authorization: Bearer <token>" when a token is set
// (401 otherwise). Errors are JSON {"error": "<cause>"}: 400 corrupt or
// empty image, 413 too large (bytes or pixels), 415 not an image format,
// 503 busy (queue full: retry after a second) or shutting down.
//
//   HttpApi api(config.http, pipeline, metrics, [&] { return ready(); });
//   api.start();          // bound when it returns
//   int port = api.port();
//   api.stop();           // waits for requests in progress
//
// Thread-safe: requests run on the server's own threads.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "vigil/service/config.h"
#include "vigil/service/metrics.h"
#include "vigil/service/pipeline.h"

namespace httplib {
class Server;
struct Request;
}  // namespace httplib

namespace vigil::service {

// What /readyz reports; `ready` sets the status code.
struct Readiness {
  bool ready = false;
  nlohmann::json details = nlohmann::json::object();
};

class HttpApi {
 public:
  // `pipeline` and `metrics` must outlive the HttpApi; `readiness` is
  // called from the server's threads.
  HttpApi(const HttpConfig& config, Pipeline& pipeline, Metrics& metrics,
          std::function<Readiness()> readiness);
  ~HttpApi();  // stop()
  HttpApi(const HttpApi&) = delete;
  HttpApi& operator=(const HttpApi&) = delete;

  // Binds host:port and serves from a thread. Throws vigil::Error naming
  // http.host/http.port when the address cannot be bound.
  void start();
  // The bound port (the chosen one when http.port is 0).
  int port() const { return port_; }
  // New requests are refused with 503 from now on (while draining).
  void refuse_new_frames() { refusing_ = true; }
  // Stops listening and waits for requests in progress.
  void stop();

 private:
  void add_routes();
  std::string too_large_cause(const httplib::Request& req) const;

  const HttpConfig config_;
  Pipeline& pipeline_;
  Metrics& metrics_;
  std::function<Readiness()> readiness_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<bool> refusing_{false};
};

}  // namespace vigil::service
