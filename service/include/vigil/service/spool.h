// The local spool: every record is written here, atomically, before its
// frame is acknowledged, and removed only once ReductStore has it. While
// ReductStore is down records pile up here and go out, oldest first, when
// it is back.
//
//   Spool spool({.dir = "/var/lib/vigil/spool", .max_bytes = 4ULL << 30});
//   spool.put({{"vigil-frames", "cam-1", record}});   // durable on return
//   for (auto& [seq, item] : spool.oldest(32, 8 << 20, 200)) {
//     send(item);
//     spool.remove(seq);
//   }
//
// On disk: one file per record, "<seq>.rec", seq a 20-digit counter that
// gives the order; a file is written as "<seq>.tmp" and renamed, so a crash
// leaves either the whole record or nothing (stray .tmp files are removed
// at start). The file is one line of JSON (bucket, entry, timestamp,
// content type, labels, size) followed by the payload. Records the server
// refuses for good move to "failed/" beside a ".why" text file.
//
// Errors: I/O failures throw vigil::Error naming the file. Thread-safe:
// any number of writers; one reader (oldest/remove) at a time.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "vigil/storage/reduct_client.h"

namespace vigil::service {

struct SpoolItem {
  std::string bucket = {};
  std::string entry = {};
  storage::Record record;
};

class Spool {
 public:
  struct Options {
    std::string dir;
    // put() waits while the spool holds more than this (see set_bounded).
    std::uint64_t max_bytes = 4ULL << 30;
    // fsync each file and the folder before put() returns.
    bool fsync = true;
  };

  // Creates the folder, removes stray .tmp files and takes the records
  // already there (a previous run's) as the oldest. Throws vigil::Error.
  explicit Spool(Options options);

  // Writes `items` in order, each atomically; waits first while the spool
  // is over its size limit. Returns when they are on disk. Throws
  // vigil::Error on an I/O failure (what was written stays).
  void put(const std::vector<SpoolItem>& items);

  // The oldest records not held, at most `n` and about `max_bytes` (at
  // least one), waiting up to `wait_ms` for the first. Records stay until
  // remove().
  // A record whose file cannot be read is moved to failed/ and skipped.
  std::vector<std::pair<std::uint64_t, SpoolItem>> oldest(
      std::size_t n, std::uint64_t max_bytes, int wait_ms);
  void remove(std::uint64_t seq);
  // A held record stays on disk, and in record_count(), but oldest() skips
  // it until release(): for a record the server acknowledged that vigil
  // has not yet seen there. Holds last for this Spool object only.
  void hold(std::uint64_t seq);
  void release(std::uint64_t seq);
  // Moves the record to failed/ with `reason` beside it.
  void quarantine(std::uint64_t seq, const std::string& reason);

  // false: put() never waits (used while shutting down, so that frames
  // already accepted are spooled whatever the spool's size).
  void set_bounded(bool bounded);
  // Wakes a reader waiting in oldest().
  void wake();

  std::uint64_t size_bytes() const;
  std::size_t record_count() const;
  // Over max_bytes: the pipeline stops taking new frames.
  bool full() const;
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path path_of(std::uint64_t seq, const char* extension) const;
  void write_file(std::uint64_t seq, const SpoolItem& item);
  SpoolItem read_file(std::uint64_t seq) const;
  void scan();

  const Options options_;
  const std::filesystem::path dir_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::uint64_t, std::uint64_t> sizes_;  // seq -> file bytes
  std::set<std::uint64_t> held_;
  std::uint64_t total_bytes_ = 0;
  std::uint64_t next_seq_ = 1;
  bool bounded_ = true;
  bool woken_ = false;
};

}  // namespace vigil::service
