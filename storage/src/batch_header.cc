#include "batch_header.h"

#include <algorithm>
#include <cctype>

#include "vigil/error.h"

namespace vigil::storage::batch {
namespace {

constexpr char kTimePrefix[] = "x-reduct-time-";
constexpr char kErrorPrefix[] = "x-reduct-error-";

std::string trim(const std::string& text) {
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  auto first = std::find_if(text.begin(), text.end(), not_space);
  auto last = std::find_if(text.rbegin(), text.rend(), not_space).base();
  return first < last ? std::string(first, last) : std::string();
}

// Splits `text` at the first `separator`; `rest` is empty when there is
// none. `rest` may be `text` itself, hence the copies.
std::string take_until(std::string text, char separator, std::string* rest) {
  std::size_t at = text.find(separator);
  *rest = at == std::string::npos ? std::string() : text.substr(at + 1);
  return text.substr(0, at);
}

// "k=v,k2=\"v,2\"" -> labels, the way the server writes them.
Labels parse_labels(std::string rest) {
  Labels labels;
  while (rest.find('=') != std::string::npos) {
    std::string value;
    std::string key = trim(take_until(rest, '=', &value));
    if (!value.empty() && value.front() == '"') {
      labels[key] = take_until(value.substr(1), '"', &rest);
      take_until(rest, ',', &rest);
    } else {
      labels[key] = trim(take_until(value, ',', &rest));
    }
  }
  return labels;
}

// (timestamp, header value) for every header named <prefix><timestamp>.
std::vector<std::pair<std::uint64_t, std::string>> timed_headers(
    const HttpResponse& response, const std::string& prefix) {
  std::vector<std::pair<std::uint64_t, std::string>> result;
  for (const auto& [name, value] : response.headers) {
    if (name.rfind(prefix, 0) != 0) continue;
    result.emplace_back(std::stoull(name.substr(prefix.size())), value);
  }
  std::sort(result.begin(), result.end());
  return result;
}

}  // namespace

std::string time_header(std::uint64_t timestamp_us) {
  return kTimePrefix + std::to_string(timestamp_us);
}

std::string format_header(const Record& record) {
  std::string value =
      std::to_string(record.data.size()) + "," + record.content_type;
  for (const auto& [key, label] : record.labels) {
    if (label.find('"') != std::string::npos) {
      throw Error("label '" + key + "'",
                  "a value with a double quote cannot be sent in a batch");
    }
    bool quote = label.find(',') != std::string::npos;
    value += "," + key + "=" + (quote ? "\"" + label + "\"" : label);
  }
  return value;
}

Record parse_header(std::uint64_t timestamp_us, const std::string& value,
                    std::uint64_t* content_length) {
  std::string rest;
  *content_length = std::stoull(take_until(value, ',', &rest));
  std::string content_type = trim(take_until(rest, ',', &rest));
  if (content_type.empty()) content_type = "application/octet-stream";
  return {timestamp_us, {}, content_type, parse_labels(rest)};
}

std::map<std::uint64_t, RecordError> parse_errors(
    const HttpResponse& response) {
  std::map<std::uint64_t, RecordError> errors;
  for (const auto& [timestamp_us, value] :
       timed_headers(response, kErrorPrefix)) {
    std::string message;
    int status = std::stoi(take_until(value, ',', &message));
    errors[timestamp_us] = {status, message};
  }
  return errors;
}

void split_records(const HttpResponse& response, bool metadata_only,
                   std::vector<Record>* records) {
  std::size_t offset = 0;
  for (const auto& [timestamp_us, value] :
       timed_headers(response, kTimePrefix)) {
    std::uint64_t length = 0;
    Record record = parse_header(timestamp_us, value, &length);
    if (!metadata_only) {
      if (offset + length > response.body.size()) {
        throw Error("reductstore batch at " + std::to_string(timestamp_us),
                    "the body is shorter than its headers announce");
      }
      record.data.assign(response.body.begin() + offset,
                         response.body.begin() + offset + length);
      offset += length;
    }
    records->push_back(std::move(record));
  }
}

}  // namespace vigil::storage::batch
