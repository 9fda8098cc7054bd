#include "vigil/service/http_api.h"

#include <httplib.h>

#include <future>

#include <spdlog/spdlog.h>

#include "vigil/error.h"

namespace vigil::service {
namespace {

using nlohmann::json;

void reply_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump() + "\n", "application/json");
}

void reply_error(httplib::Response& res, int status, const std::string& cause) {
  reply_json(res, status, {{"error", cause}});
}

// Compares in time independent of where the strings first differ.
bool same_secret(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  }
  return diff == 0;
}

bool authorized(const httplib::Request& req, const std::string& token) {
  if (token.empty()) return true;
  return same_secret(req.get_header_value("Authorization"), "Bearer " + token);
}

// The upload: a multipart field "image" (or the only file), else the body.
std::vector<std::uint8_t> upload_of(const httplib::Request& req,
                                    std::string* name) {
  if (req.is_multipart_form_data()) {
    auto file = req.files.find("image");
    if (file == req.files.end() && req.files.size() == 1) {
      file = req.files.begin();
    }
    if (file == req.files.end()) return {};
    if (name->empty()) *name = file->second.filename;
    const std::string& content = file->second.content;
    return {content.begin(), content.end()};
  }
  return {req.body.begin(), req.body.end()};
}

json verdict_json(const Outcome& outcome) {
  const storage::FrameLabels& v = outcome.labels;
  return {{"frame_id", v.frame_id},
          {"source", v.source},
          {"entry", outcome.entry},
          {"timestamp_us", outcome.timestamp_us},
          {"pred_score", v.pred_score},
          {"pred_label", v.pred_label ? 1 : 0},
          {"raw_score", v.raw_score},
          {"latency_ms", v.latency_ms},
          {"model", v.model},
          {"model_version", v.model_version},
          {"map_stored", outcome.map_stored}};
}

const char* status_text(int status) {
  switch (status) {
    case 400:
      return "bad request";
    case 401:
      return "missing or wrong token";
    case 404:
      return "no such path";
    case 405:
      return "method not allowed";
    case 413:
      return "upload too large";
    default:
      return "request failed";
  }
}

}  // namespace

HttpApi::HttpApi(const HttpConfig& config, Pipeline& pipeline, Metrics& metrics,
                 std::function<Readiness()> readiness)
    : config_(config),
      pipeline_(pipeline),
      metrics_(metrics),
      readiness_(std::move(readiness)),
      server_(std::make_unique<httplib::Server>()) {}

HttpApi::~HttpApi() { stop(); }

void HttpApi::start() {
  int threads = config_.threads;
  server_->new_task_queue = [threads] {
    return new httplib::ThreadPool(std::size_t(threads));
  };
  server_->set_payload_max_length(config_.max_upload_bytes);
  add_routes();

  const std::string where = config_.host + ":" + std::to_string(config_.port);
  port_ = config_.port == 0 ? server_->bind_to_any_port(config_.host)
                            : (server_->bind_to_port(config_.host, config_.port)
                                   ? config_.port
                                   : -1);
  if (port_ <= 0) {
    throw Error("http.host/http.port " + where,
                "cannot listen (address in use or not local)");
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  spdlog::info(
      "HTTP on {}:{} (POST /v1/infer{}; GET /healthz /readyz "
      "/metrics)",
      config_.host, port_,
      config_.token.empty() ? ", no token: writes are open" : " with a token");
  if (config_.token.empty()) {
    spdlog::warn(
        "http.token is empty: anyone who reaches port {} can post "
        "frames",
        port_);
  }
}

void HttpApi::stop() {
  if (!thread_.joinable()) return;
  refusing_ = true;
  server_->stop();
  thread_.join();
}

// cpp-httplib caps form-encoded bodies at CPPHTTPLIB_FORM_URL_ENCODED_
// PAYLOAD_MAX_LENGTH (8 kB) before any handler runs; that is what
// `curl --data-binary` sends unless told otherwise.
std::string HttpApi::too_large_cause(const httplib::Request& req) const {
  if (req.get_header_value("Content-Type") ==
      "application/x-www-form-urlencoded") {
    return "a form-encoded body is limited to " +
           std::to_string(CPPHTTPLIB_FORM_URL_ENCODED_PAYLOAD_MAX_LENGTH) +
           " bytes; send the image as Content-Type image/* or "
           "application/octet-stream (curl -H 'Content-Type: image/jpeg')";
  }
  return "more than http.max_upload (" +
         std::to_string(config_.max_upload_bytes) + " bytes)";
}

void HttpApi::add_routes() {
  server_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    reply_json(res, 200, {{"status", "alive"}});
  });
  server_->Get("/readyz",
               [this](const httplib::Request&, httplib::Response& res) {
                 Readiness r = readiness_();
                 r.details["ready"] = r.ready;
                 reply_json(res, r.ready ? 200 : 503, r.details);
               });
  server_->Get(
      "/metrics", [this](const httplib::Request&, httplib::Response& res) {
        res.set_content(metrics_.render(), "text/plain; version=0.0.4");
      });
  server_->Post("/v1/infer", [this](const httplib::Request& req,
                                    httplib::Response& res) {
    if (!authorized(req, config_.token)) {
      res.set_header("WWW-Authenticate", "Bearer");
      reply_error(res, 401, "missing or wrong token (Authorization: Bearer)");
      return;
    }
    if (refusing_) {
      reply_error(res, 503, "shutting down");
      return;
    }
    auto frame = std::make_unique<Frame>();
    frame->source =
        req.has_param("source") ? req.get_param_value("source") : "http";
    frame->origin = req.get_param_value("name");
    frame->encoded = upload_of(req, &frame->origin);
    if (frame->encoded.empty()) {
      reply_error(res, 400,
                  "empty upload: send the image as the body or "
                  "as a multipart field 'image'");
      return;
    }
    // Shared with the frame, so the promise outlives set_value() even when
    // this thread wakes and returns first.
    auto promise = std::make_shared<std::promise<Outcome>>();
    std::future<Outcome> outcome = promise->get_future();
    frame->done = [promise](const Outcome& o) { promise->set_value(o); };
    if (!pipeline_.try_submit(frame)) {
      res.set_header("Retry-After", "1");
      reply_error(res, 503, "busy: the pipeline is full; retry later");
      return;
    }
    Outcome o = outcome.get();
    if (o.status == 200) {
      reply_json(res, 200, verdict_json(o));
    } else {
      reply_json(res, o.status,
                 {{"error", o.error}, {"frame_id", o.labels.frame_id}});
    }
  });
  // Fills the bodies cpp-httplib leaves empty (404, 413 from the size
  // limit, ...) with the same JSON as every other error.
  server_->set_error_handler(
      [this](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return;
        std::string cause = status_text(res.status);
        if (res.status == 413) cause += ": " + too_large_cause(req);
        reply_error(res, res.status, cause);
      });
}

}  // namespace vigil::service
