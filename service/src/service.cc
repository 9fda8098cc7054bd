#include "vigil/service/service.h"

#include <chrono>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "vigil/error.h"
#include "vigil/stopwatch.h"

namespace vigil::service {
namespace {

namespace fs = std::filesystem;

PipelineOptions pipeline_options(const ServiceConfig& c,
                                 const Detector& detector) {
  const ModelInfo& info = detector.info();
  PipelineOptions options;
  options.threads_and_queues = c.pipeline;
  options.maps = c.storage.maps;
  options.image.max_pixels = c.http.max_pixels;
  options.model_name =
      info.name.empty() ? fs::path(c.model_path).stem().string() : info.name;
  options.model_version = info.version;
  return options;
}

UploaderOptions uploader_options(const ServiceConfig& c) {
  UploaderOptions options;
  options.client.url = c.storage.url;
  options.client.api_token = c.storage.token;
  options.quotas = {c.storage.frames_quota_bytes, c.storage.maps_quota_bytes};
  options.batch_records = c.spool.batch_records;
  options.drain_timeout_ms = c.spool.drain_timeout_ms;
  options.verify_after_ms = c.spool.verify_after_ms;
  return options;
}

std::unique_ptr<Detector> open_model(const ServiceConfig& c) {
  Clock::time_point start = Clock::now();
  auto detector =
      Detector::open(c.model_path, {c.backbone_path, c.pipeline.model_threads});
  spdlog::info("loaded model {} ({}, version '{}') in {:.0f} ms", c.model_path,
               detector->info().type, detector->info().version,
               ms_since(start));
  return detector;
}

const ServiceConfig& validated(const ServiceConfig& c) {
  validate(c);
  return c;
}

}  // namespace

Service::Service(ServiceConfig config)
    : config_(validated(config)),
      detector_(open_model(config_)),
      spool_(std::make_unique<Spool>(Spool::Options{
          config_.spool.dir, config_.spool.max_bytes, config_.spool.fsync})),
      uploader_(std::make_unique<Uploader>(*spool_, metrics_,
                                           uploader_options(config_))),
      pipeline_(
          std::make_unique<Pipeline>(*detector_, *spool_, metrics_,
                                     pipeline_options(config_, *detector_))) {
  for (const WatchConfig& watch : config_.watch) {
    sources_.push_back(make_folder_source(watch, *pipeline_));
  }
  for (const VideoConfig& video : config_.video) {
    sources_.push_back(make_video_source(video, *pipeline_));
  }
  if (config_.http.enabled) {
    http_ = std::make_unique<HttpApi>(config_.http, *pipeline_, metrics_,
                                      [this] { return readiness(); });
  }
  add_gauges();
}

Service::~Service() { stop(); }

void Service::add_gauges() {
  metrics_.add_gauge("vigil_decode_queue_depth", "frames waiting to decode",
                     [this] { return double(pipeline_->decode_depth()); });
  metrics_.add_gauge("vigil_infer_queue_depth", "frames waiting to infer",
                     [this] { return double(pipeline_->infer_depth()); });
  metrics_.add_gauge("vigil_store_queue_depth", "frames waiting to spool",
                     [this] { return double(pipeline_->store_depth()); });
  metrics_.add_gauge("vigil_spool_bytes", "bytes in the spool",
                     [this] { return double(spool_->size_bytes()); });
  metrics_.add_gauge("vigil_spool_records", "records in the spool",
                     [this] { return double(spool_->record_count()); });
  metrics_.add_gauge("vigil_storage_up",
                     "1 when the last request reached ReductStore",
                     [this] { return uploader_->storage_up() ? 1.0 : 0.0; });
  metrics_.add_gauge("vigil_ready", "1 when /readyz says ready",
                     [this] { return readiness().ready ? 1.0 : 0.0; });
}

void Service::start() {
  VIGIL_ASSERT(!started_);
  started_ = true;
  uploader_->start();
  pipeline_->start();
  if (http_) http_->start();
  for (auto& source : sources_) source->start();
}

void Service::stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  draining_ = true;
  spdlog::info("stopping: finishing {} frame(s) in flight",
               pipeline_->in_flight());
  // Frames already accepted are spooled whatever the spool's size.
  spool_->set_bounded(false);
  if (http_) http_->refuse_new_frames();
  for (auto& source : sources_) source->request_stop();
  for (auto& source : sources_) source->join();
  if (http_) http_->stop();
  pipeline_->drain();
  uploader_->stop();
  log_summary();
}

void Service::log_summary() const {
  spdlog::info(
      "served {} frame(s): {} stored in ReductStore, {} refused, {} "
      "record(s) left in the spool",
      metrics_.frames_in.value(), metrics_.frames_stored.value(),
      metrics_.frames_failed.value(), spool_->record_count());
}

bool Service::done() const {
  if (!config_.exit_when_done) return false;
  for (const auto& source : sources_) {
    if (!source->finished()) return false;
  }
  return pipeline_->in_flight() == 0 && spool_->record_count() == 0;
}

int Service::http_port() const { return http_ ? http_->port() : 0; }

Readiness Service::readiness() const {
  bool up = uploader_->storage_up();
  bool full = spool_->full();
  Readiness r;
  r.ready = detector_ != nullptr && !draining_ && (up || !full);
  r.details = {{"model", pipeline_options(config_, *detector_).model_name},
               {"storage", up     ? "reachable"
                           : full ? "unreachable, spool full"
                                  : "unreachable, spooling"},
               {"spool_records", spool_->record_count()},
               {"spool_bytes", spool_->size_bytes()},
               {"draining", draining_.load()}};
  return r;
}

}  // namespace vigil::service
