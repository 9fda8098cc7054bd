// Everything `vigil serve` can be told, read from a YAML file and then
// overridden by flags.
//
//   vigil::service::ServiceConfig config =
//       vigil::service::load_config("serve.yaml");
//   config.http.port = 9000;              // a flag wins over the file
//   vigil::service::validate(config);     // before starting anything
//
// A YAML file (every key optional; unknown keys are an error):
//
//   model: tile.vigil
//   http: {host: 0.0.0.0, port: 8080, token: s3cret}
//   storage: {url: "http://127.0.0.1:8383", token: rs-token,
//             frames_quota: 20GiB, maps_quota: 2GiB, maps: anomalous}
//   spool: {dir: /var/lib/vigil/spool, max_size: 4GiB, fsync: true}
//   pipeline: {queue_size: 8, infer_threads: 1}
//   watch: [{dir: /data/in, source: line-3, after: move}]
//   video: [{uri: "rtsp://cam-7/stream", source: cam-7}]
//
// Sizes are bytes, or a number with a unit: 512MiB, 4GiB, 10GB, 64kB.
// Errors: load_config and validate throw vigil::Error naming the file and
// the key, e.g. "serve.yaml: spool.max_size: expected a size such as 4GiB,
// got 'lots'". Plain values; no thread-safety concerns.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vigil::service {

struct HttpConfig {
  bool enabled = true;
  std::string host = "127.0.0.1";  // 0.0.0.0 to listen on every interface
  int port = 8080;                 // 0: any free port (tests)
  // Required as "Authorization: Bearer <token>" on every POST. Empty:
  // writes are open, which the service warns about at start.
  std::string token = {};
  std::uint64_t max_upload_bytes = 32ULL << 20;  // larger uploads get 413
  // Images with more pixels are refused with 413 before they are decoded.
  std::int64_t max_pixels = 64LL * 1024 * 1024;
  int threads = 8;  // HTTP worker threads
};

struct StorageConfig {
  std::string url = "http://127.0.0.1:8383";
  std::string token = {};  // ReductStore API token
  std::uint64_t frames_quota_bytes = 10ULL << 30;
  std::uint64_t maps_quota_bytes = 2ULL << 30;
  // Which anomaly maps are stored: "anomalous" (frames whose pred_label is
  // anomalous), "all", or "none". Each map is a PNG as large as the frame
  // in pixels, about a quarter of a gray frame's size after compression.
  std::string maps = "anomalous";
};

struct SpoolConfig {
  std::string dir = "vigil-spool";
  // When the spool holds more than this (ReductStore down for long), the
  // pipeline stops taking frames: sources wait, uploads get 503.
  std::uint64_t max_bytes = 4ULL << 30;
  // fsync each record before it is acknowledged: survives a power cut, at
  // the cost of a disk flush per frame. Without it a crash of vigil alone
  // still loses nothing.
  bool fsync = true;
  // Records sent to ReductStore in one batch request.
  int batch_records = 32;
  // On shutdown, how long to keep uploading before leaving the rest in the
  // spool for the next start.
  int drain_timeout_ms = 10000;
  // How long a record ReductStore acknowledged stays in the spool before a
  // query must find it there (see uploader.h).
  int verify_after_ms = 1000;
};

struct PipelineConfig {
  // Frames each stage's input queue holds. Under overload the three
  // queues hold 3 x queue_size frames: that bounds memory and the latency
  // queueing adds (about 3 x queue_size / frame rate).
  int queue_size = 8;
  int decode_threads = 1;
  int infer_threads = 1;  // each runs Detector::predict
  int model_threads = 0;  // ONNX Runtime intra-op threads; 0: all cores
};

struct WatchConfig {
  std::string dir = {};
  std::string source = {};  // entry name; default: the folder's name
  int poll_ms = 200;
  // What happens to a file once its frame is spooled: "move" (into
  // move_to), "delete", or "leave" (remembered for this run only: after a
  // restart every file left is processed again).
  std::string after = "move";
  std::string move_to =
      {};  // default: <dir>/processed; bad images: <dir>/failed
};

struct VideoConfig {
  // A video file, a camera index ("0") or a stream URL (rtsp://, http://).
  std::string uri = {};
  std::string source =
      {};  // entry name; default: file stem, "camera-<n>", host
  // Frames per second taken (others are skipped); 0: every frame.
  double max_fps = 0.0;
  // Cameras and streams: wait this long and reopen after a read fails.
  int reconnect_ms = 2000;
};

struct ServiceConfig {
  std::string model_path = {};
  std::string backbone_path = {};  // when the backbone moved since training
  HttpConfig http = {};
  StorageConfig storage = {};
  SpoolConfig spool = {};
  PipelineConfig pipeline = {};
  std::vector<WatchConfig> watch = {};
  std::vector<VideoConfig> video = {};
  // Stop once every folder is empty and every video file has ended, and
  // the spool is drained (a replay; never true with a camera or stream).
  bool exit_when_done = false;
};

// Throws vigil::Error naming `path` and the key.
ServiceConfig load_config(const std::string& path);
// Parses YAML text; `name` is used in error messages.
ServiceConfig parse_config(const std::string& yaml, const std::string& name);
// Checks values and combinations (a model, at least one source, known
// enum values, positive sizes). Throws vigil::Error naming the key.
void validate(const ServiceConfig& config);

// "4GiB" -> 4294967296. Throws vigil::Error(key, cause).
std::uint64_t parse_size(const std::string& text, const std::string& key);

}  // namespace vigil::service
