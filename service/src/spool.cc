#include "vigil/service/spool.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "vigil/error.h"

namespace vigil::service {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr char kRecord[] = ".rec";
constexpr char kTemporary[] = ".tmp";

std::string errno_text() { return std::strerror(errno); }

// Writes all of `data` to `fd`, retrying short writes.
void write_all(int fd, const char* data, std::size_t n,
               const std::string& path) {
  while (n > 0) {
    ssize_t written = ::write(fd, data, n);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) throw Error(path, "cannot write: " + errno_text());
    data += written;
    n -= std::size_t(written);
  }
}

void fsync_path(const fs::path& path, int flags) {
  int fd = ::open(path.c_str(), flags);
  if (fd < 0) throw Error(path.string(), "cannot open: " + errno_text());
  int result = ::fsync(fd);
  ::close(fd);
  if (result != 0) throw Error(path.string(), "fsync failed: " + errno_text());
}

std::string header_of(const SpoolItem& item) {
  json labels = json::object();
  for (const auto& [name, value] : item.record.labels) labels[name] = value;
  return json{{"bucket", item.bucket},
              {"entry", item.entry},
              {"timestamp_us", item.record.timestamp_us},
              {"content_type", item.record.content_type},
              {"labels", labels},
              {"size", item.record.data.size()}}
      .dump();
}

SpoolItem item_from(const json& header) {
  SpoolItem item;
  item.bucket = header.at("bucket").get<std::string>();
  item.entry = header.at("entry").get<std::string>();
  item.record.timestamp_us = header.at("timestamp_us").get<std::uint64_t>();
  item.record.content_type = header.at("content_type").get<std::string>();
  for (const auto& [name, value] : header.at("labels").items()) {
    item.record.labels[name] = value.get<std::string>();
  }
  return item;
}

// "00000000000000000042.rec" -> 42; 0 for any other name.
std::uint64_t seq_of(const fs::path& path) {
  std::string stem = path.stem().string();
  if (stem.empty() || stem.size() > 20) return 0;
  for (char c : stem) {
    if (c < '0' || c > '9') return 0;
  }
  return std::stoull(stem);
}

}  // namespace

Spool::Spool(Options options)
    : options_(std::move(options)), dir_(options_.dir) {
  std::error_code error;
  fs::create_directories(dir_ / "failed", error);
  if (error) throw Error(dir_.string(), "cannot create: " + error.message());
  scan();
  if (!sizes_.empty()) {
    spdlog::info("spool {}: {} record(s), {} bytes left from a previous run",
                 dir_.string(), sizes_.size(), total_bytes_);
  }
}

void Spool::scan() {
  for (const auto& file : fs::directory_iterator(dir_)) {
    if (!file.is_regular_file()) continue;
    const fs::path& path = file.path();
    if (path.extension() == kTemporary) {
      fs::remove(path);  // a put() cut short; never acknowledged
      continue;
    }
    std::uint64_t seq = seq_of(path);
    if (path.extension() != kRecord || seq == 0) continue;
    sizes_[seq] = file.file_size();
    total_bytes_ += file.file_size();
    next_seq_ = std::max(next_seq_, seq + 1);
  }
}

fs::path Spool::path_of(std::uint64_t seq, const char* extension) const {
  char name[32];
  std::snprintf(name, sizeof(name), "%020llu", (unsigned long long)seq);
  return dir_ / (std::string(name) + extension);
}

void Spool::put(const std::vector<SpoolItem>& items) {
  for (const SpoolItem& item : items) {
    std::uint64_t seq = 0;
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] {
        return !bounded_ || total_bytes_ <= options_.max_bytes;
      });
      seq = next_seq_++;
    }
    write_file(seq, item);
    std::uint64_t bytes = fs::file_size(path_of(seq, kRecord));
    std::lock_guard lock(mutex_);
    sizes_[seq] = bytes;
    total_bytes_ += bytes;
    changed_.notify_all();
  }
}

void Spool::write_file(std::uint64_t seq, const SpoolItem& item) {
  const fs::path temporary = path_of(seq, kTemporary);
  const std::string header = header_of(item) + "\n";
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    throw Error(temporary.string(), "cannot create: " + errno_text());
  }
  try {
    write_all(fd, header.data(), header.size(), temporary.string());
    const auto& data = item.record.data;
    write_all(fd, reinterpret_cast<const char*>(data.data()), data.size(),
              temporary.string());
    if (options_.fsync && ::fsync(fd) != 0) {
      throw Error(temporary.string(), "fsync failed: " + errno_text());
    }
  } catch (...) {
    ::close(fd);
    fs::remove(temporary);
    throw;
  }
  ::close(fd);

  const fs::path final_path = path_of(seq, kRecord);
  if (std::rename(temporary.c_str(), final_path.c_str()) != 0) {
    throw Error(final_path.string(), "cannot rename: " + errno_text());
  }
  // The rename is durable only once the folder is.
  if (options_.fsync) fsync_path(dir_, O_RDONLY | O_DIRECTORY);
}

SpoolItem Spool::read_file(std::uint64_t seq) const {
  const fs::path path = path_of(seq, kRecord);
  std::ifstream file(path, std::ios::binary);
  std::string header;
  if (!file || !std::getline(file, header)) {
    throw Error(path.string(), "cannot read spool record");
  }
  SpoolItem item;
  std::uint64_t size = 0;
  try {
    json parsed = json::parse(header);
    item = item_from(parsed);
    size = parsed.at("size").get<std::uint64_t>();
  } catch (const json::exception& e) {
    throw Error(path.string(),
                std::string("corrupt spool header: ") + e.what());
  }
  item.record.data.resize(size);
  file.read(reinterpret_cast<char*>(item.record.data.data()),
            std::streamsize(size));
  if (std::uint64_t(file.gcount()) != size) {
    throw Error(path.string(), "spool record shorter than its header says");
  }
  return item;
}

std::vector<std::pair<std::uint64_t, SpoolItem>> Spool::oldest(
    std::size_t n, std::uint64_t max_bytes, int wait_ms) {
  std::vector<std::uint64_t> seqs;
  {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, std::chrono::milliseconds(wait_ms),
                      [&] { return sizes_.size() > held_.size() || woken_; });
    woken_ = false;
    std::uint64_t bytes = 0;
    for (const auto& [seq, size] : sizes_) {
      if (held_.count(seq) > 0) continue;
      if (seqs.size() >= n || (!seqs.empty() && bytes + size > max_bytes)) {
        break;
      }
      seqs.push_back(seq);
      bytes += size;
    }
  }
  std::vector<std::pair<std::uint64_t, SpoolItem>> items;
  for (std::uint64_t seq : seqs) {
    try {
      items.emplace_back(seq, read_file(seq));
    } catch (const Error& e) {
      spdlog::error("{}", e.what());
      quarantine(seq, e.what());
    }
  }
  return items;
}

void Spool::remove(std::uint64_t seq) {
  std::error_code ignored;
  fs::remove(path_of(seq, kRecord), ignored);
  std::lock_guard lock(mutex_);
  held_.erase(seq);
  auto it = sizes_.find(seq);
  if (it == sizes_.end()) return;
  total_bytes_ -= it->second;
  sizes_.erase(it);
  changed_.notify_all();
}

void Spool::hold(std::uint64_t seq) {
  std::lock_guard lock(mutex_);
  if (sizes_.count(seq) > 0) held_.insert(seq);
}

void Spool::release(std::uint64_t seq) {
  std::lock_guard lock(mutex_);
  held_.erase(seq);
  changed_.notify_all();
}

void Spool::quarantine(std::uint64_t seq, const std::string& reason) {
  const fs::path from = path_of(seq, kRecord);
  const fs::path to = dir_ / "failed" / from.filename();
  std::error_code error;
  fs::rename(from, to, error);
  std::ofstream(fs::path(to).replace_extension(".why")) << reason << "\n";
  spdlog::error("spool record {} moved to {}: {}", from.string(), to.string(),
                reason);
  remove(seq);
}

void Spool::set_bounded(bool bounded) {
  std::lock_guard lock(mutex_);
  bounded_ = bounded;
  changed_.notify_all();
}

void Spool::wake() {
  std::lock_guard lock(mutex_);
  woken_ = true;
  changed_.notify_all();
}

std::uint64_t Spool::size_bytes() const {
  std::lock_guard lock(mutex_);
  return total_bytes_;
}

std::size_t Spool::record_count() const {
  std::lock_guard lock(mutex_);
  return sizes_.size();
}

bool Spool::full() const {
  std::lock_guard lock(mutex_);
  return total_bytes_ > options_.max_bytes;
}

}  // namespace vigil::service
