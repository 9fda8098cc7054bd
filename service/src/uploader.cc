#include "vigil/service/uploader.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include <spdlog/spdlog.h>

#include "vigil/stopwatch.h"

namespace vigil::service {
namespace {

constexpr int kFirstPauseMs = 100;
constexpr int kMaxResends = 3;
constexpr int kLongestPauseMs = 5000;

std::uint64_t system_now_us() {
  return std::uint64_t(std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count());
}

// Refusals that retrying cannot cure; anything else (0: unreachable, 5xx,
// 401/403 until the token is fixed, 404 until the bucket is back, 429)
// is retried.
bool is_final(int status) {
  return status >= 400 && status < 500 && status != 401 && status != 403 &&
         status != 404 && status != 408 && status != 409 && status != 429;
}

}  // namespace

Uploader::Uploader(Spool& spool, Metrics& metrics, UploaderOptions options)
    : spool_(spool),
      metrics_(metrics),
      options_(std::move(options)),
      client_(options_.client) {}

Uploader::~Uploader() { stop(); }

void Uploader::set_on_frame_stored(
    std::function<void(const SpoolItem&)> callback) {
  on_frame_stored_ = std::move(callback);
}

void Uploader::start() {
  VIGIL_ASSERT(!thread_.joinable());
  thread_ = std::thread([this] { run(); });
}

void Uploader::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    deadline_ =
        Clock::now() + std::chrono::milliseconds(options_.drain_timeout_ms);
  }
  wake_.notify_all();
  spool_.wake();
  thread_.join();
  std::size_t left = spool_.record_count();
  if (left > 0) {
    spdlog::warn("{} record(s) left in the spool {} for the next start", left,
                 spool_.dir().string());
  }
}

bool Uploader::past_deadline() const {
  std::lock_guard lock(mutex_);
  return stopping_ && Clock::now() >= deadline_;
}

void Uploader::pause(int ms) {
  std::unique_lock lock(mutex_);
  auto until = Clock::now() + std::chrono::milliseconds(ms);
  if (stopping_) until = std::min(until, deadline_);
  wake_.wait_until(lock, until);
}

void Uploader::run() {
  int pause_ms = kFirstPauseMs;
  while (!past_deadline()) {
    bool stopping = false;
    {
      std::lock_guard lock(mutex_);
      stopping = stopping_;
    }
    if (stopping && spool_.record_count() == 0) break;

    bool ok = ensure_buckets() && verify();
    if (ok) {
      Batch batch = spool_.oldest(std::size_t(options_.batch_records),
                                  options_.batch_bytes, 200);
      ok = batch.empty() || send(batch);
    }
    if (ok) {
      pause_ms = kFirstPauseMs;
      continue;
    }
    pause(pause_ms);
    pause_ms = std::min(2 * pause_ms, kLongestPauseMs);
  }
}

bool Uploader::ensure_buckets() {
  if (buckets_ready_) return true;
  try {
    storage::ensure_buckets(client_, options_.quotas);
  } catch (const storage::StorageError& e) {
    mark_down(e.what());
    return false;
  }
  buckets_ready_ = true;
  return true;
}

void Uploader::mark_down(const std::string& cause) {
  metrics_.upload_errors.add();
  up_.store(false);
  if (logged_down_) {
    spdlog::debug("ReductStore: {}", cause);
    return;
  }
  logged_down_ = true;
  spdlog::warn("ReductStore: {}; spooling to {} until it is back", cause,
               spool_.dir().string());
}

bool Uploader::send(Batch& batch) {
  // One request per entry; within it, records keep their spool order.
  std::map<std::pair<std::string, std::string>, std::vector<std::size_t>>
      groups;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    groups[{batch[i].second.bucket, batch[i].second.entry}].push_back(i);
  }
  for (const auto& [key, group] : groups) {
    if (!send_group(batch, group)) return false;
  }
  if (!up_.exchange(true) && logged_down_) {
    logged_down_ = false;
    spdlog::info("ReductStore is back; {} record(s) left in the spool",
                 spool_.record_count());
  }
  return true;
}

bool Uploader::send_group(Batch& batch, const std::vector<std::size_t>& group) {
  const SpoolItem& first = batch[group.front()].second;
  std::vector<storage::Record> records;
  for (std::size_t i : group) records.push_back(batch[i].second.record);

  Clock::time_point start = Clock::now();
  std::map<std::uint64_t, storage::RecordError> errors;
  try {
    errors = client_.write_batch(first.bucket, first.entry, records);
  } catch (const storage::StorageError& e) {
    if (e.status() == 404) buckets_ready_ = false;  // removed meanwhile
    if (is_final(e.status())) return send_one_by_one(batch, group);
    mark_down(e.what());
    return false;
  }
  metrics_.upload_ms.observe(ms_since(start));

  bool all_done = true;
  for (std::size_t i : group) {
    const auto& [seq, item] = batch[i];
    auto error = errors.find(item.record.timestamp_us);
    if (error == errors.end() || error->second.status == 409) {
      acknowledged(seq, item);
    } else if (is_final(error->second.status)) {
      refused(seq, item, error->second.message);
    } else {
      all_done = false;  // left in the spool for the next round
    }
  }
  if (!all_done) mark_down("some records were not taken; retrying");
  return all_done;
}

bool Uploader::send_one_by_one(Batch& batch,
                               const std::vector<std::size_t>& group) {
  for (std::size_t i : group) {
    const auto& [seq, item] = batch[i];
    try {
      storage::write_once(client_, item.bucket, item.entry, item.record);
      acknowledged(seq, item);
    } catch (const storage::StorageError& e) {
      if (!is_final(e.status())) {
        mark_down(e.what());
        return false;
      }
      refused(seq, item, e.what());
    }
  }
  return true;
}

void Uploader::acknowledged(std::uint64_t seq, const SpoolItem& item) {
  spool_.hold(seq);
  auto [held, first] = held_.try_emplace(seq);
  held->second.bucket = item.bucket;
  held->second.entry = item.entry;
  held->second.timestamp_us = item.record.timestamp_us;
  held->second.acknowledged_at = Clock::now();
  held->second.sent = true;
  if (!first) return;  // a resend: counted the first time
  if (item.bucket != storage::kFramesBucket) {
    metrics_.maps_stored.add();
    return;
  }
  metrics_.frames_stored.add();
  std::uint64_t now = options_.now_us ? options_.now_us() : system_now_us();
  std::uint64_t accepted = item.record.timestamp_us;
  metrics_.accepted_to_stored_ms.observe(
      now > accepted ? double(now - accepted) / 1000.0 : 0.0);
  if (on_frame_stored_) on_frame_stored_(item);
}

bool Uploader::verify() {
  // A query a quarter of the wait at most, not one per batch.
  Clock::time_point now = Clock::now();
  if (now - last_verify_ <
      std::chrono::milliseconds(options_.verify_after_ms / 4)) {
    return true;
  }
  last_verify_ = now;
  Clock::time_point due =
      now - std::chrono::milliseconds(options_.verify_after_ms);
  struct Due {  // the due records of one entry and their time range
    std::vector<std::uint64_t> seqs;
    std::uint64_t first_us = UINT64_MAX, last_us = 0;
  };
  std::map<std::pair<std::string, std::string>, Due> groups;
  for (const auto& [seq, held] : held_) {
    if (!held.sent || held.acknowledged_at > due) continue;
    Due& group = groups[{held.bucket, held.entry}];
    group.seqs.push_back(seq);
    group.first_us = std::min(group.first_us, held.timestamp_us);
    group.last_us = std::max(group.last_us, held.timestamp_us);
  }
  for (const auto& [key, group] : groups) {
    storage::QueryOptions range;
    range.start_us = group.first_us;
    range.stop_us = group.last_us + 1;
    range.metadata_only = true;
    std::set<std::uint64_t> found;
    try {
      for (const storage::Record& record :
           client_.query(key.first, key.second, range)) {
        found.insert(record.timestamp_us);
      }
    } catch (const storage::StorageError& e) {
      mark_down(e.what());
      return false;
    }
    for (std::uint64_t seq : group.seqs) {
      if (found.count(held_.at(seq).timestamp_us) > 0) {
        verified(seq);
      } else {
        missing(seq);
      }
    }
  }
  return true;
}

void Uploader::verified(std::uint64_t seq) {
  spool_.remove(seq);
  held_.erase(seq);
}

void Uploader::missing(std::uint64_t seq) {
  Held& held = held_.at(seq);
  std::string where = held.bucket + "/" + held.entry + " at " +
                      std::to_string(held.timestamp_us);
  if (held.resends >= kMaxResends) {
    spdlog::error("ReductStore acknowledged {} {} times and never kept it",
                  where, held.resends + 1);
    held_.erase(seq);
    spool_.quarantine(seq, "acknowledged by ReductStore and never found there");
    return;
  }
  try {
    // A record the server recovered half-written answers 425 or 500 and
    // blocks a new write (409) until removed.
    if (client_.has_record(held.bucket, held.entry, held.timestamp_us)) {
      verified(seq);  // finished since the query
      return;
    }
  } catch (const storage::StorageError& e) {
    if (e.status() != 425 && e.status() != 500) return;  // ask again later
    try {
      client_.remove_record(held.bucket, held.entry, held.timestamp_us);
    } catch (const storage::StorageError&) {
      return;
    }
  }
  spdlog::warn(
      "ReductStore acknowledged {} but does not have it; sending it "
      "again",
      where);
  ++held.resends;
  held.sent = false;
  spool_.release(seq);
}

void Uploader::refused(std::uint64_t seq, const SpoolItem& item,
                       const std::string& reason) {
  metrics_.frames_failed.add();
  spool_.quarantine(
      seq, "ReductStore refused " + item.bucket + "/" + item.entry + " at " +
               std::to_string(item.record.timestamp_us) + ": " + reason);
}

}  // namespace vigil::service
