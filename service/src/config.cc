#include "vigil/service/config.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "vigil/error.h"

namespace vigil::service {
namespace {

// Reads one YAML mapping; every key must be read by a handler, so a typo
// is an error rather than a setting silently ignored.
class Section {
 public:
  Section(const YAML::Node& node, std::string prefix, std::string file)
      : node_(node), prefix_(std::move(prefix)), file_(std::move(file)) {
    if (node_ && !node_.IsNull() && !node_.IsMap()) fail("", "expected a map");
  }

  [[noreturn]] void fail(const std::string& key,
                         const std::string& cause) const {
    std::string name = prefix_ + key;
    if (!name.empty() && name.back() == '.') name.pop_back();
    throw Error(file_, (name.empty() ? "" : name + ": ") + cause);
  }

  std::string key_name(const std::string& key) const { return prefix_ + key; }
  const std::string& file() const { return file_; }

  // Calls `read` with the node of `key` when the key is present.
  void with(const std::string& key,
            const std::function<void(const YAML::Node&)>& read) {
    known_.insert(key);
    if (!node_ || !node_.IsMap() || !node_[key]) return;
    read(node_[key]);
  }

  template <typename T>
  void get(const std::string& key, T* value) {
    with(key, [&](const YAML::Node& n) {
      try {
        *value = n.as<T>();
      } catch (const YAML::Exception&) {
        fail(key, "expected " + type_name<T>() + ", got '" + text(n) + "'");
      }
    });
  }

  void size(const std::string& key, std::uint64_t* value) {
    with(key, [&](const YAML::Node& n) {
      if (!n.IsScalar()) fail(key, "expected a size such as 4GiB");
      *value = parse_size(n.Scalar(), file_ + ": " + key_name(key));
    });
  }

  // Throws for the first key no handler asked for.
  void check_unknown() const {
    if (!node_ || !node_.IsMap()) return;
    for (const auto& item : node_) {
      std::string key = item.first.as<std::string>();
      if (known_.count(key) == 0) fail(key, "unknown key");
    }
  }

 private:
  static std::string text(const YAML::Node& n) {
    if (n.IsScalar()) return n.Scalar();
    return n.IsMap() ? "a map" : n.IsSequence() ? "a list" : "nothing";
  }

  template <typename T>
  static std::string type_name() {
    if constexpr (std::is_same_v<T, bool>) return "true or false";
    if constexpr (std::is_integral_v<T>) return "an integer";
    if constexpr (std::is_floating_point_v<T>) return "a number";
    return "a string";
  }

  YAML::Node node_;
  std::string prefix_;
  std::string file_;
  std::set<std::string> known_;
};

void read_http(Section s, HttpConfig* c) {
  s.get("enabled", &c->enabled);
  s.get("host", &c->host);
  s.get("port", &c->port);
  s.get("token", &c->token);
  s.size("max_upload", &c->max_upload_bytes);
  s.get("max_pixels", &c->max_pixels);
  s.get("threads", &c->threads);
  s.check_unknown();
}

void read_storage(Section s, StorageConfig* c) {
  s.get("url", &c->url);
  s.get("token", &c->token);
  s.size("frames_quota", &c->frames_quota_bytes);
  s.size("maps_quota", &c->maps_quota_bytes);
  s.get("maps", &c->maps);
  s.check_unknown();
}

void read_spool(Section s, SpoolConfig* c) {
  s.get("dir", &c->dir);
  s.size("max_size", &c->max_bytes);
  s.get("fsync", &c->fsync);
  s.get("batch_records", &c->batch_records);
  s.get("drain_timeout_ms", &c->drain_timeout_ms);
  s.get("verify_after_ms", &c->verify_after_ms);
  s.check_unknown();
}

void read_pipeline(Section s, PipelineConfig* c) {
  s.get("queue_size", &c->queue_size);
  s.get("decode_threads", &c->decode_threads);
  s.get("infer_threads", &c->infer_threads);
  s.get("model_threads", &c->model_threads);
  s.check_unknown();
}

void read_watch(Section s, WatchConfig* c) {
  s.get("dir", &c->dir);
  s.get("source", &c->source);
  s.get("poll_ms", &c->poll_ms);
  s.get("after", &c->after);
  s.get("move_to", &c->move_to);
  s.check_unknown();
}

void read_video(Section s, VideoConfig* c) {
  s.get("uri", &c->uri);
  s.get("source", &c->source);
  s.get("max_fps", &c->max_fps);
  s.get("reconnect_ms", &c->reconnect_ms);
  s.check_unknown();
}

// `key` may hold one map or a list of maps.
template <typename T, typename Read>
void read_list(Section& top, const std::string& key, std::vector<T>* out,
               Read read) {
  top.with(key, [&](const YAML::Node& n) {
    if (n.IsMap()) {
      read(Section(n, key + ".", top.file()), &out->emplace_back());
      return;
    }
    if (!n.IsSequence()) top.fail(key, "expected a map or a list of maps");
    for (std::size_t i = 0; i < n.size(); ++i) {
      std::string prefix = key + "[" + std::to_string(i) + "].";
      read(Section(n[i], prefix, top.file()), &out->emplace_back());
    }
  });
}

void require(bool ok, const std::string& key, const std::string& cause) {
  if (!ok) throw Error(key, cause);
}

void validate_sources(const ServiceConfig& c) {
  require(!c.watch.empty() || !c.video.empty() || c.http.enabled, "sources",
          "none: give watch, video, or enable http");
  for (std::size_t i = 0; i < c.watch.size(); ++i) {
    const WatchConfig& w = c.watch[i];
    std::string key = "watch[" + std::to_string(i) + "]";
    require(!w.dir.empty(), key + ".dir", "missing");
    require(w.poll_ms > 0, key + ".poll_ms", "must be positive");
    require(w.after == "move" || w.after == "delete" || w.after == "leave",
            key + ".after",
            "expected move, delete or leave, got '" + w.after + "'");
  }
  for (std::size_t i = 0; i < c.video.size(); ++i) {
    std::string key = "video[" + std::to_string(i) + "]";
    require(!c.video[i].uri.empty(), key + ".uri", "missing");
    require(c.video[i].max_fps >= 0, key + ".max_fps", "must be >= 0");
  }
}

}  // namespace

std::uint64_t parse_size(const std::string& text, const std::string& key) {
  static const std::map<std::string, double> kUnits = {
      {"", 1.0},        {"b", 1.0},
      {"kb", 1e3},      {"mb", 1e6},
      {"gb", 1e9},      {"tb", 1e12},
      {"kib", 1024.0},  {"mib", 1 << 20},
      {"gib", 1 << 30}, {"tib", 1099511627776.0}};
  std::size_t used = 0;
  double number = 0.0;
  try {
    number = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  std::string unit;
  for (std::size_t i = used; i < text.size(); ++i) {
    if (!std::isspace(static_cast<unsigned char>(text[i]))) {
      unit += char(std::tolower(static_cast<unsigned char>(text[i])));
    }
  }
  auto factor = kUnits.find(unit);
  if (used == 0 || factor == kUnits.end() || !(number >= 0) ||
      !std::isfinite(number)) {
    throw Error(key, "expected a size such as 4GiB, got '" + text + "'");
  }
  return std::uint64_t(std::llround(number * factor->second));
}

ServiceConfig parse_config(const std::string& yaml, const std::string& name) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    throw Error(name, std::string("not valid YAML: ") + e.what());
  }
  ServiceConfig c;
  Section top(root, "", name);
  top.get("model", &c.model_path);
  top.get("backbone", &c.backbone_path);
  top.get("exit_when_done", &c.exit_when_done);
  top.with("http", [&](auto& n) { read_http({n, "http.", name}, &c.http); });
  top.with("storage", [&](auto& n) {
    read_storage({n, "storage.", name}, &c.storage);
  });
  top.with("spool", [&](auto& n) {
    read_spool({n, "spool.", name}, &c.spool);
  });
  top.with("pipeline", [&](auto& n) {
    read_pipeline({n, "pipeline.", name}, &c.pipeline);
  });
  read_list(top, "watch", &c.watch, read_watch);
  read_list(top, "video", &c.video, read_video);
  top.check_unknown();
  return c;
}

ServiceConfig load_config(const std::string& path) {
  std::ifstream file(path);
  if (!file) throw Error(path, "cannot open configuration file");
  std::stringstream text;
  text << file.rdbuf();
  return parse_config(text.str(), path);
}

void validate(const ServiceConfig& c) {
  require(!c.model_path.empty(), "model", "missing (--model or model:)");
  require(c.http.port >= 0 && c.http.port <= 65535, "http.port",
          "must be 0..65535");
  require(c.http.threads > 0, "http.threads", "must be positive");
  require(c.http.max_upload_bytes > 0, "http.max_upload", "must be positive");
  require(c.http.max_pixels > 0, "http.max_pixels", "must be positive");
  require(c.storage.maps == "anomalous" || c.storage.maps == "all" ||
              c.storage.maps == "none",
          "storage.maps",
          "expected anomalous, all or none, got '" + c.storage.maps + "'");
  require(c.storage.frames_quota_bytes > 0, "storage.frames_quota",
          "must be positive");
  require(c.storage.maps_quota_bytes > 0, "storage.maps_quota",
          "must be positive");
  require(!c.spool.dir.empty(), "spool.dir", "missing");
  require(c.spool.max_bytes > 0, "spool.max_size", "must be positive");
  require(c.spool.batch_records > 0, "spool.batch_records", "must be > 0");
  require(c.spool.drain_timeout_ms >= 0, "spool.drain_timeout_ms",
          "must be >= 0");
  require(c.spool.verify_after_ms >= 0, "spool.verify_after_ms",
          "must be >= 0");
  require(c.pipeline.queue_size > 0, "pipeline.queue_size", "must be > 0");
  require(c.pipeline.decode_threads > 0, "pipeline.decode_threads",
          "must be > 0");
  require(c.pipeline.infer_threads > 0, "pipeline.infer_threads",
          "must be > 0");
  require(c.pipeline.model_threads >= 0, "pipeline.model_threads",
          "must be >= 0");
  validate_sources(c);
}

}  // namespace vigil::service
