// A small client for the ReductStore HTTP API (v1, server 1.21): server
// info and health, buckets, and records with labels, read back by timestamp
// or by query.
//
//   vigil::storage::ReductClient client({.url = "http://127.0.0.1:8383",
//                                        .api_token = token});
//   client.create_bucket("frames", {.quota_type = QuotaType::kFifo,
//                                   .quota_size_bytes = 10'000'000'000},
//                        /*exist_ok=*/true);
//   client.write_record("frames", "cam1",
//                       {.timestamp_us = now_us, .data = jpeg_bytes,
//                        .content_type = "image/jpeg",
//                        .labels = {{"label", "anomalous"}}});
//   auto hits = client.query("frames", "cam1",
//                            {.when = {{"&label", {{"$eq", "anomalous"}}}}});
//
// Records are keyed by (bucket, entry, timestamp in microseconds since the
// Unix epoch); writing a timestamp that exists fails with 409.
//
// Errors: every call that reaches the server throws StorageError when the
// server refuses (status >= 300, with its x-reduct-error text) or cannot be
// reached (status 0). Caller mistakes that never reach the network (a bad
// URL) throw vigil::Error.
//
// Labels: names travel as HTTP header names, so the server stores them in
// lower case; use lower-case names made of [a-z0-9_-]. Values are UTF-8
// text without line breaks or double quotes.
//
// Thread-safety: a ReductClient holds no state of its own after
// construction; it is as safe as its transport. The default transport
// serialises requests with a mutex, so one client may be shared between
// threads, but requests then run one at a time: give each thread its own
// client to run them in parallel.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vigil/error.h"
#include "vigil/storage/http_transport.h"

namespace vigil::storage {

// Thrown when ReductStore refuses a request or cannot be reached. what() is
// "reductstore <url> <METHOD> <path>: <status> <server message>", e.g.
// "reductstore http://127.0.0.1:8383 POST /api/v1/b/frames: 409 Bucket
// 'frames' already exists".
class StorageError : public vigil::Error {
 public:
  StorageError(const std::string& request, int status,
               const std::string& server_message);

  // HTTP status, or 0 when no ReductStore could be reached: no answer, or
  // a 404 without x-reduct-error (another server at that address), so that
  // 404 always means "no such bucket, entry or record".
  int status() const { return status_; }
  // The server's x-reduct-error text (or the network failure at status 0).
  const std::string& server_message() const { return server_message_; }

 private:
  int status_;
  std::string server_message_;
};

struct ClientOptions {
  std::string url = "http://127.0.0.1:8383";  // "http://host[:port]"
  // Sent as "Authorization: Bearer <token>"; empty sends none.
  std::string api_token;
  int connect_timeout_ms = 3000;
  // How long one read or write on the socket may stall; a large record on a
  // slow link needs more.
  int read_timeout_ms = 30000;
  int write_timeout_ms = 30000;
};

using Labels = std::map<std::string, std::string>;

struct Record {
  std::uint64_t timestamp_us = 0;       // microseconds since the Unix epoch
  std::vector<std::uint8_t> data = {};  // the payload, bytes as stored
  std::string content_type = "application/octet-stream";
  Labels labels = {};
};

struct ServerInfo {
  std::string version;  // e.g. "1.21.4"
  std::uint64_t bucket_count = 0;
  std::uint64_t usage_bytes = 0;
  std::uint64_t uptime_s = 0;
  std::uint64_t oldest_record_us = 0;
  std::uint64_t latest_record_us = 0;
};

enum class QuotaType { kNone, kFifo, kHard };

// Unset fields take the server's defaults. When read back, all are set.
struct BucketSettings {
  // kFifo removes the oldest blocks when the bucket outgrows the quota;
  // kHard refuses new writes instead.
  std::optional<QuotaType> quota_type;
  std::optional<std::uint64_t> quota_size_bytes;
  // Records are stored in blocks; the quota frees whole blocks, so a FIFO
  // quota overshoots by up to one block.
  std::optional<std::uint64_t> max_block_size_bytes;
  std::optional<std::uint64_t> max_block_records;
};

struct EntryInfo {
  std::string name;
  std::uint64_t record_count = 0;
  std::uint64_t size_bytes = 0;
  std::uint64_t oldest_record_us = 0;
  std::uint64_t latest_record_us = 0;
};

struct BucketInfo {
  std::string name;
  std::uint64_t entry_count = 0;
  std::uint64_t size_bytes = 0;
  std::uint64_t oldest_record_us = 0;
  std::uint64_t latest_record_us = 0;
  BucketSettings settings;
  std::vector<EntryInfo> entries;
};

// A failure of one record in a batch write (the others were stored).
struct RecordError {
  int status = 0;  // e.g. 409 when the timestamp already exists
  std::string message;
};

struct QueryOptions {
  // Time range [start_us, stop_us); unset means from the first or to the
  // last record.
  std::optional<std::uint64_t> start_us;
  std::optional<std::uint64_t> stop_us;
  // A ReductStore condition on labels, e.g.
  // {"&label": {"$eq": "anomalous"}} or
  // {"$and": [{"&score": {"$gt": 0.5}}, {"&source": {"$eq": "cam1"}}]}.
  // Null matches every record.
  nlohmann::json when;
  // At most this many records (the first in time order).
  std::optional<std::uint64_t> limit;
  // Leave Record::data empty and fetch only timestamps, types and labels.
  bool metadata_only = false;
  // How long the server keeps the query open between two batch reads.
  int ttl_s = 60;
};

class ReductClient {
 public:
  // Uses make_http_transport(options) when `transport` is null.
  explicit ReductClient(ClientOptions options,
                        std::unique_ptr<HttpTransport> transport = nullptr);

  const ClientOptions& options() const { return options_; }

  ServerInfo info();
  // True when the server answers /api/v1/alive with 200; never throws.
  bool alive();

  // With exist_ok, an existing bucket is kept as it is (its settings are
  // not changed) instead of raising 409.
  void create_bucket(const std::string& name, const BucketSettings& settings,
                     bool exist_ok = false);
  BucketInfo get_bucket(const std::string& name);
  // The server finishes removing the data in the background; until then
  // the name answers 409 "is being deleted" rather than 404.
  void remove_bucket(const std::string& name);

  void write_record(const std::string& bucket, const std::string& entry,
                    const Record& record);
  // One request for many records (their timestamps must differ). Records
  // the server refused are returned by timestamp; the rest are stored.
  std::map<std::uint64_t, RecordError> write_batch(
      const std::string& bucket, const std::string& entry,
      const std::vector<Record>& records);

  // Throws StorageError with status 404 when there is no such record.
  Record read_record(const std::string& bucket, const std::string& entry,
                     std::uint64_t timestamp_us);
  // HEAD: whether the record exists (false also when the entry or bucket
  // does not).
  bool has_record(const std::string& bucket, const std::string& entry,
                  std::uint64_t timestamp_us);
  // Matching records in time order, read in batches and held in memory
  // (use a limit or a narrow range for big entries). Throws StorageError
  // 404 when the bucket or the entry does not exist.
  std::vector<Record> query(const std::string& bucket, const std::string& entry,
                            const QueryOptions& options = {});

  // Adds or replaces the given labels; a label given an empty value is
  // removed. Labels not named are kept.
  void update_labels(const std::string& bucket, const std::string& entry,
                     std::uint64_t timestamp_us, const Labels& labels);
  void remove_record(const std::string& bucket, const std::string& entry,
                     std::uint64_t timestamp_us);

 private:
  // Sends with the token; throws StorageError unless the status is 2xx
  // (or `allowed_status`).
  HttpResponse call(HttpRequest request, int allowed_status = 0);
  // call(), then `read` on the reply's JSON body.
  template <typename Read>
  auto call_json(HttpRequest request, Read read);
  // "reductstore <url> <METHOD> <target>", how errors name a request.
  std::string describe(const HttpRequest& request) const;
  std::uint64_t start_query(const std::string& entry_path,
                            const QueryOptions& options);
  // Appends one batch to `records`; false once the query is exhausted.
  bool read_batch(const std::string& entry_path, std::uint64_t query_id,
                  bool metadata_only, std::vector<Record>* records);

  ClientOptions options_;
  std::unique_ptr<HttpTransport> transport_;
};

}  // namespace vigil::storage
