// The watched folder: poll, wait until a file stops growing, submit it
// once, then move, delete or leave it.
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>

#include <spdlog/spdlog.h>

#include "stoppable_thread.h"
#include "vigil/error.h"
#include "vigil/image_io.h"
#include "vigil/service/sources.h"

namespace vigil::service {
namespace {

namespace fs = std::filesystem;

struct Seen {
  std::uintmax_t size = 0;
  fs::file_time_type time;
};

bool is_candidate(const fs::directory_entry& file) {
  std::string name = file.path().filename().string();
  auto ends_with = [&](const std::string& suffix) {
    return name.size() >= suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) ==
               0;
  };
  std::error_code error;
  return file.is_regular_file(error) && !name.empty() && name[0] != '.' &&
         !ends_with(".tmp") && !ends_with(".part") && has_image_extension(name);
}

class FolderSource : public Source {
 public:
  FolderSource(const WatchConfig& config, Pipeline& pipeline)
      : config_(config),
        pipeline_(pipeline),
        dir_(config.dir),
        name_(config.source.empty() ? fs::absolute(dir_).filename().string()
                                    : config.source),
        done_dir_(config.move_to.empty() ? dir_ / "processed"
                                         : fs::path(config.move_to)),
        failed_dir_(dir_ / "failed") {
    if (!fs::is_directory(dir_)) {
      throw Error(config.dir, "watched folder does not exist");
    }
    if (config_.after != "leave") {
      fs::create_directories(done_dir_);
      fs::create_directories(failed_dir_);
    }
  }

  const std::string& name() const override { return name_; }

  void start() override {
    spdlog::info("watching {} as source '{}' (files are {} when stored)",
                 dir_.string(), name_,
                 config_.after == "move"     ? "moved to " + done_dir_.string()
                 : config_.after == "delete" ? "deleted"
                                             : "left");
    thread_.start([this] { run(); });
  }

  void request_stop() override { thread_.request_stop(); }
  void join() override { thread_.join(); }

  bool finished() const override {
    std::lock_guard lock(mutex_);
    return idle_ && in_flight_.empty();
  }

 private:
  void run() {
    while (!thread_.stopping()) {
      std::vector<fs::path> ready = poll();
      {
        std::lock_guard lock(mutex_);
        idle_ = ready.empty() && waiting_ == 0;
      }
      for (const fs::path& path : ready) {
        if (thread_.stopping() || !submit(path)) return;
      }
      thread_.sleep_ms(config_.poll_ms);
    }
  }

  // Files whose size and time did not change since the last poll, by name.
  // The listing runs under the lock that settle() moves files under, so a
  // file is either listed while still in flight or not listed at all: one
  // moved away between the listing and the in-flight check would otherwise
  // look new and be taken a second time.
  std::vector<fs::path> poll() {
    std::lock_guard lock(mutex_);
    std::map<fs::path, Seen> now;
    std::error_code error;
    for (const auto& file : fs::directory_iterator(dir_, error)) {
      if (!is_candidate(file)) continue;
      now[file.path()] = {file.file_size(error), file.last_write_time(error)};
    }
    if (error) spdlog::warn("{}: {}", dir_.string(), error.message());

    std::vector<fs::path> ready;
    waiting_ = 0;
    for (const auto& [path, seen] : now) {
      if (in_flight_.count(path) > 0 || taken_.count(path) > 0) continue;
      auto before = last_.find(path);
      bool stable = before != last_.end() && before->second.size == seen.size &&
                    before->second.time == seen.time;
      if (stable) {
        ready.push_back(path);
      } else {
        ++waiting_;
      }
    }
    last_ = std::move(now);
    return ready;
  }

  bool submit(const fs::path& path) {
    {
      std::lock_guard lock(mutex_);
      in_flight_.insert(path);
    }
    auto frame = std::make_unique<Frame>();
    frame->source = name_;
    frame->origin = path.filename().string();
    frame->path = path.string();
    frame->done = [this, path](const Outcome& outcome) {
      settle(path, outcome.status == 200);
    };
    if (pipeline_.submit(std::move(frame))) return true;
    std::lock_guard lock(mutex_);
    in_flight_.erase(path);  // not accepted: stays for the next run
    return false;
  }

  // Called from a pipeline thread once the frame is spooled or refused.
  void settle(const fs::path& path, bool stored) {
    std::lock_guard lock(mutex_);  // see poll()
    std::error_code error;
    if (config_.after == "leave") {
      // Nothing else marks the file as done within this run.
    } else if (!stored) {
      fs::rename(path, failed_dir_ / path.filename(), error);
    } else if (config_.after == "delete") {
      fs::remove(path, error);
    } else {
      fs::rename(path, done_dir_ / path.filename(), error);
    }
    if (error) {
      spdlog::error("{}: cannot {} after storing: {}", path.string(),
                    stored ? config_.after : "move to failed/",
                    error.message());
    }
    in_flight_.erase(path);
    // A file that could not be moved must still not be taken again.
    if (config_.after == "leave" || error) taken_.insert(path);
  }

  const WatchConfig config_;
  Pipeline& pipeline_;
  const fs::path dir_;
  const std::string name_;
  const fs::path done_dir_;
  const fs::path failed_dir_;

  mutable std::mutex mutex_;
  bool idle_ = false;              // guarded by mutex_
  int waiting_ = 0;                // guarded by mutex_
  std::map<fs::path, Seen> last_;  // guarded by mutex_
  std::set<fs::path> in_flight_;   // guarded by mutex_
  std::set<fs::path> taken_;       // guarded by mutex_
  // Last: stopped and joined before the members its thread uses go.
  StoppableThread thread_;
};

}  // namespace

std::unique_ptr<Source> make_folder_source(const WatchConfig& config,
                                           Pipeline& pipeline) {
  return std::make_unique<FolderSource>(config, pipeline);
}

}  // namespace vigil::service
