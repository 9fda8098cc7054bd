// vigil serve: the real-time service (service/), configured by a YAML file
// and flags; runs until SIGTERM or SIGINT, then finishes what it accepted.
// Built only with the service library (cli/CMakeLists.txt).
#ifdef VIGIL_HAVE_SERVICE
#include <signal.h>

#include <cerrno>
#include <ctime>
#include <memory>

#include <spdlog/spdlog.h>

#include "commands.h"
#include "vigil/service/config.h"
#include "vigil/service/service.h"

namespace vigil::cli {
namespace {

struct ServeFlags {
  std::string config_path;
  std::string model_path;
  std::string backbone;
  std::vector<std::string> watch;
  std::string after;
  std::vector<std::string> video;
  std::vector<std::string> camera;
  std::string source;
  std::string http_host;
  int http_port = -1;
  bool no_http = false;
  std::string token;
  std::string reduct_url;
  std::string reduct_token;
  std::string spool;
  std::string maps;
  int infer_threads = 0;
  int model_threads = -1;
  bool exit_when_done = false;
};

// Flags win over the file; only flags given on the command line apply.
service::ServiceConfig config_of(const ServeFlags& f) {
  service::ServiceConfig c;
  if (!f.config_path.empty()) c = service::load_config(f.config_path);
  if (!f.model_path.empty()) c.model_path = f.model_path;
  if (!f.backbone.empty()) c.backbone_path = f.backbone;
  for (const std::string& dir : f.watch) {
    service::WatchConfig w{.dir = dir, .source = f.source};
    if (!f.after.empty()) w.after = f.after;
    c.watch.push_back(w);
  }
  for (const std::string& uri : f.video) {
    c.video.push_back({.uri = uri, .source = f.source});
  }
  for (const std::string& uri : f.camera) {
    c.video.push_back({.uri = uri, .source = f.source});
  }
  if (!f.http_host.empty()) c.http.host = f.http_host;
  if (f.http_port >= 0) c.http.port = f.http_port;
  if (f.no_http) c.http.enabled = false;
  if (!f.token.empty()) c.http.token = f.token;
  if (!f.reduct_url.empty()) c.storage.url = f.reduct_url;
  if (!f.reduct_token.empty()) c.storage.token = f.reduct_token;
  if (!f.spool.empty()) c.spool.dir = f.spool;
  if (!f.maps.empty()) c.storage.maps = f.maps;
  if (f.infer_threads > 0) c.pipeline.infer_threads = f.infer_threads;
  if (f.model_threads >= 0) c.pipeline.model_threads = f.model_threads;
  if (f.exit_when_done) c.exit_when_done = true;
  if (f.config_path.empty()) return c;
  try {  // here, to name the file; Service validates again
    service::validate(c);
  } catch (const Error& e) {
    throw Error(f.config_path, e.what());
  }
  return c;
}

// One line of progress, when frames came in since the last one.
void log_progress(const service::Service& s, std::uint64_t* last_in) {
  const service::Metrics& m = s.metrics();
  if (m.frames_in.value() == *last_in) return;
  *last_in = m.frames_in.value();
  spdlog::info("{} frame(s) in, {} stored, {} refused; {} record(s) spooled",
               m.frames_in.value(), m.frames_stored.value(),
               m.frames_failed.value(), s.spool().record_count());
}

// Waits for SIGTERM/SIGINT (blocked in every thread, so they queue here)
// or for the service to finish a replay; logs progress every 10 s.
void wait_for_end(const sigset_t& signals, const service::Service& s) {
  const timespec poll = {0, 200 * 1000 * 1000};
  std::uint64_t last_in = 0;
  for (int tick = 1; !s.done(); ++tick) {
    int signal = sigtimedwait(&signals, nullptr, &poll);
    if (signal > 0) {
      spdlog::info("{} received", signal == SIGTERM ? "SIGTERM" : "SIGINT");
      return;
    }
    if (tick % 50 == 0) log_progress(s, &last_in);
  }
  spdlog::info("every source is done and the spool is empty");
}

void run_serve(const ServeFlags& flags) {
  service::ServiceConfig config = config_of(flags);
  // Blocked before any thread starts (ONNX Runtime's too), so that only
  // sigtimedwait below sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  service::Service service(config);
  service.start();
  wait_for_end(signals, service);
  service.stop();
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto f = std::make_shared<ServeFlags>();
  CLI::App* c = app.add_subcommand(
      "serve",
      "score frames from folders, videos, cameras and HTTP uploads "
      "and keep them in ReductStore");
  c->add_option("--config", f->config_path,
                "YAML configuration (flags override it)");
  c->add_option("--model", f->model_path, "trained model file");
  c->add_option("--backbone", f->backbone,
                "backbone file, when it moved since training");
  c->add_option("--watch", f->watch, "folder to watch for new images");
  c->add_option("--after", f->after,
                "what to do with a watched file once stored")
      ->check(CLI::IsMember({"move", "delete", "leave"}));
  c->add_option("--video", f->video, "video file to read");
  c->add_option("--camera", f->camera, "camera index or stream URL (rtsp://)");
  c->add_option("--source", f->source,
                "source name for --watch/--video/--camera (default: the "
                "folder's or file's name)");
  c->add_option("--http-host", f->http_host, "address to listen on");
  c->add_option("--http-port", f->http_port, "port (0: any free one)");
  c->add_flag("--no-http", f->no_http, "no HTTP API");
  c->add_option("--token", f->token,
                "token required on POST (Authorization: Bearer)")
      ->envname("VIGIL_TOKEN");
  c->add_option("--reduct-url", f->reduct_url, "ReductStore URL");
  c->add_option("--reduct-token", f->reduct_token, "ReductStore API token")
      ->envname("VIGIL_REDUCT_TOKEN");
  c->add_option("--spool", f->spool, "spool folder");
  c->add_option("--maps", f->maps, "which anomaly maps to store")
      ->check(CLI::IsMember({"anomalous", "all", "none"}));
  c->add_option("--infer-threads", f->infer_threads,
                "threads running the model");
  c->add_option("--model-threads", f->model_threads,
                "ONNX Runtime threads per model run (0: all cores; 1 is "
                "faster on 2 cores, where the other stages need one)");
  c->add_flag("--exit-when-done", f->exit_when_done,
              "exit once every folder and video file is done and stored");
  c->callback([f] { run_serve(*f); });
}

}  // namespace vigil::cli

#endif  // VIGIL_HAVE_SERVICE
