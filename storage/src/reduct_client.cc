#include "vigil/storage/reduct_client.h"

#include <algorithm>
#include <utility>

#include "batch_header.h"

namespace vigil::storage {
namespace {

constexpr char kApi[] = "/api/v1";
constexpr char kLabelPrefix[] = "x-reduct-label-";

using nlohmann::json;

std::string bucket_path(const std::string& bucket) {
  return std::string(kApi) + "/b/" + bucket;
}

std::string entry_path(const std::string& bucket, const std::string& entry) {
  return bucket_path(bucket) + "/" + entry;
}

std::string with_ts(const std::string& path, std::uint64_t timestamp_us) {
  return path + "?ts=" + std::to_string(timestamp_us);
}

std::vector<std::uint8_t> to_bytes(const std::string& body) {
  return std::vector<std::uint8_t>(body.begin(), body.end());
}

std::string to_body(const std::vector<std::uint8_t>& data) {
  return std::string(data.begin(), data.end());
}

void add_label_headers(const Labels& labels,
                       std::map<std::string, std::string>* headers) {
  for (const auto& [name, value] : labels) {
    (*headers)[kLabelPrefix + name] = value;
  }
}

Labels labels_from_headers(const HttpResponse& response) {
  Labels labels;
  const std::string prefix = kLabelPrefix;
  for (const auto& [name, value] : response.headers) {
    if (name.rfind(prefix, 0) == 0) labels[name.substr(prefix.size())] = value;
  }
  return labels;
}

const char* quota_name(QuotaType type) {
  switch (type) {
    case QuotaType::kFifo:
      return "FIFO";
    case QuotaType::kHard:
      return "HARD";
    case QuotaType::kNone:
      break;
  }
  return "NONE";
}

QuotaType parse_quota(const std::string& name) {
  if (name == "FIFO") return QuotaType::kFifo;
  if (name == "HARD") return QuotaType::kHard;
  return QuotaType::kNone;
}

json settings_to_json(const BucketSettings& settings) {
  json body = json::object();
  if (settings.quota_type)
    body["quota_type"] = quota_name(*settings.quota_type);
  if (settings.quota_size_bytes)
    body["quota_size"] = *settings.quota_size_bytes;
  if (settings.max_block_size_bytes) {
    body["max_block_size"] = *settings.max_block_size_bytes;
  }
  if (settings.max_block_records) {
    body["max_block_records"] = *settings.max_block_records;
  }
  return body;
}

// The server answers null for a field that has no value.
std::uint64_t u64(const json& object, const char* key) {
  auto it = object.find(key);
  return it == object.end() || it->is_null() ? 0 : it->get<std::uint64_t>();
}

BucketSettings settings_from_json(const json& body) {
  BucketSettings settings;
  settings.quota_type = parse_quota(body.value("quota_type", "NONE"));
  settings.quota_size_bytes = u64(body, "quota_size");
  settings.max_block_size_bytes = u64(body, "max_block_size");
  settings.max_block_records = u64(body, "max_block_records");
  return settings;
}

EntryInfo entry_from_json(const json& body) {
  return {body.at("name").get<std::string>(), u64(body, "record_count"),
          u64(body, "size"), u64(body, "oldest_record"),
          u64(body, "latest_record")};
}

BucketInfo bucket_from_json(const json& body) {
  const json& info = body.at("info");
  BucketInfo bucket{info.at("name").get<std::string>(),
                    u64(info, "entry_count"),
                    u64(info, "size"),
                    u64(info, "oldest_record"),
                    u64(info, "latest_record"),
                    settings_from_json(body.at("settings")),
                    {}};
  for (const json& entry : body.value("entries", json::array())) {
    bucket.entries.push_back(entry_from_json(entry));
  }
  return bucket;
}

// `#` directives only count at the top of a condition, so they stay there
// when the condition moves under $and.
json with_limit(const json& when, std::uint64_t limit) {
  json top = json::object();
  json condition = json::object();
  if (when.is_object()) {
    for (const auto& [key, value] : when.items()) {
      (key.rfind('#', 0) == 0 ? top : condition)[key] = value;
    }
  }
  // $limit counts the records that reach it: after the condition, not
  // before, which $and's left-to-right short-circuit guarantees.
  top["$and"] = json::array({condition, {{"$limit", limit}}});
  return top;
}

}  // namespace

StorageError::StorageError(const std::string& request, int status,
                           const std::string& server_message)
    : vigil::Error(request,
                   status == 0 ? "server unreachable (" + server_message + ")"
                               : std::to_string(status) + " " + server_message),
      status_(status),
      server_message_(server_message) {}

ReductClient::ReductClient(ClientOptions options,
                           std::unique_ptr<HttpTransport> transport)
    : options_(std::move(options)), transport_(std::move(transport)) {
  while (!options_.url.empty() && options_.url.back() == '/') {
    options_.url.pop_back();
  }
  if (!transport_) transport_ = make_http_transport(options_);
}

HttpResponse ReductClient::call(HttpRequest request, int allowed_status) {
  if (!options_.api_token.empty()) {
    request.headers["Authorization"] = "Bearer " + options_.api_token;
  }
  HttpResponse response = transport_->send(request);

  bool ok = response.status >= 200 && response.status < 300;
  if (ok || (allowed_status != 0 && response.status == allowed_status)) {
    return response;
  }
  std::string message =
      response.status == 0 ? response.error : response.header("x-reduct-error");
  // ReductStore names every missing bucket, entry or record; a bare 404 is
  // some other server at this address, not "nothing stored yet".
  if (response.status == 404 && message.empty()) {
    throw StorageError(describe(request), 0,
                       "404 without x-reduct-error: not a ReductStore");
  }
  if (message.empty()) message = "(no x-reduct-error)";
  throw StorageError(describe(request), response.status, message);
}

std::string ReductClient::describe(const HttpRequest& request) const {
  return "reductstore " + options_.url + " " + request.method + " " +
         request.target;
}

// A reply that is not the JSON expected (a proxy's page, another API
// version) becomes a StorageError too, not a json exception.
template <typename Read>
auto ReductClient::call_json(HttpRequest request, Read read) {
  std::string what = describe(request);
  HttpResponse response = call(std::move(request));
  try {
    return read(json::parse(response.body));
  } catch (const json::exception& error) {
    throw StorageError(what, response.status,
                       std::string("unexpected reply: ") + error.what());
  }
}

ServerInfo ReductClient::info() {
  return call_json({.method = "GET", .target = std::string(kApi) + "/info"},
                   [](const json& body) {
                     return ServerInfo{body.at("version").get<std::string>(),
                                       u64(body, "bucket_count"),
                                       u64(body, "usage"),
                                       u64(body, "uptime"),
                                       u64(body, "oldest_record"),
                                       u64(body, "latest_record")};
                   });
}

bool ReductClient::alive() {
  HttpResponse response = transport_->send(
      {.method = "GET", .target = std::string(kApi) + "/alive"});
  return response.status == 200;
}

void ReductClient::create_bucket(const std::string& name,
                                 const BucketSettings& settings,
                                 bool exist_ok) {
  HttpRequest request{.method = "POST",
                      .target = bucket_path(name),
                      .headers = {{"Content-Type", "application/json"}},
                      .body = settings_to_json(settings).dump()};
  call(std::move(request), exist_ok ? 409 : 0);
}

BucketInfo ReductClient::get_bucket(const std::string& name) {
  return call_json({.method = "GET", .target = bucket_path(name)},
                   bucket_from_json);
}

void ReductClient::remove_bucket(const std::string& name) {
  call({.method = "DELETE", .target = bucket_path(name)});
}

void ReductClient::write_record(const std::string& bucket,
                                const std::string& entry,
                                const Record& record) {
  HttpRequest request{
      .method = "POST",
      .target = with_ts(entry_path(bucket, entry), record.timestamp_us),
      .headers = {{"Content-Type", record.content_type}},
      .body = to_body(record.data)};
  add_label_headers(record.labels, &request.headers);
  call(std::move(request));
}

std::map<std::uint64_t, RecordError> ReductClient::write_batch(
    const std::string& bucket, const std::string& entry,
    const std::vector<Record>& records) {
  // The server reads the body in timestamp order, whatever the order of the
  // headers.
  std::vector<const Record*> sorted;
  for (const Record& record : records) sorted.push_back(&record);
  std::sort(sorted.begin(), sorted.end(), [](const Record* a, const Record* b) {
    return a->timestamp_us < b->timestamp_us;
  });

  HttpRequest request{
      .method = "POST",
      .target = entry_path(bucket, entry) + "/batch",
      .headers = {{"Content-Type", "application/octet-stream"}}};
  for (const Record* record : sorted) {
    request.headers[batch::time_header(record->timestamp_us)] =
        batch::format_header(*record);
    request.body.append(record->data.begin(), record->data.end());
  }
  return batch::parse_errors(call(std::move(request)));
}

Record ReductClient::read_record(const std::string& bucket,
                                 const std::string& entry,
                                 std::uint64_t timestamp_us) {
  HttpResponse response =
      call({.method = "GET",
            .target = with_ts(entry_path(bucket, entry), timestamp_us)});
  return {timestamp_us, to_bytes(response.body),
          response.header("content-type"), labels_from_headers(response)};
}

bool ReductClient::has_record(const std::string& bucket,
                              const std::string& entry,
                              std::uint64_t timestamp_us) {
  HttpResponse response =
      call({.method = "HEAD",
            .target = with_ts(entry_path(bucket, entry), timestamp_us)},
           404);
  return response.status != 404;
}

std::vector<Record> ReductClient::query(const std::string& bucket,
                                        const std::string& entry,
                                        const QueryOptions& options) {
  const std::string path = entry_path(bucket, entry);
  std::uint64_t query_id = start_query(path, options);

  std::vector<Record> records;
  while (read_batch(path, query_id, options.metadata_only, &records)) {
  }
  return records;
}

std::uint64_t ReductClient::start_query(const std::string& path,
                                        const QueryOptions& options) {
  json body = {{"query_type", "QUERY"}, {"ttl", options.ttl_s}};
  if (options.start_us) body["start"] = *options.start_us;
  if (options.stop_us) body["stop"] = *options.stop_us;
  if (options.limit) {
    body["when"] = with_limit(options.when, *options.limit);
  } else if (!options.when.is_null()) {
    body["when"] = options.when;
  }

  HttpRequest request{.method = "POST",
                      .target = path + "/q",
                      .headers = {{"Content-Type", "application/json"}},
                      .body = body.dump()};
  return call_json(std::move(request), [](const json& reply) {
    return reply.at("id").get<std::uint64_t>();
  });
}

bool ReductClient::read_batch(const std::string& path, std::uint64_t query_id,
                              bool metadata_only,
                              std::vector<Record>* records) {
  HttpRequest request{.method = metadata_only ? "HEAD" : "GET",
                      .target = path + "/batch?q=" + std::to_string(query_id)};
  HttpResponse response = call(std::move(request));
  if (response.status == 204) return false;  // no more records

  batch::split_records(response, metadata_only, records);
  return response.header("x-reduct-last") != "true";
}

void ReductClient::update_labels(const std::string& bucket,
                                 const std::string& entry,
                                 std::uint64_t timestamp_us,
                                 const Labels& labels) {
  HttpRequest request{
      .method = "PATCH",
      .target = with_ts(entry_path(bucket, entry), timestamp_us)};
  add_label_headers(labels, &request.headers);
  call(std::move(request));
}

void ReductClient::remove_record(const std::string& bucket,
                                 const std::string& entry,
                                 std::uint64_t timestamp_us) {
  call({.method = "DELETE",
        .target = with_ts(entry_path(bucket, entry), timestamp_us)});
}

}  // namespace vigil::storage
