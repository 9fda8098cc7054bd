#include "vigil/storage/dataset_pull.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>

#include <spdlog/spdlog.h>

#include "vigil/storage/layout.h"

namespace vigil::storage {
namespace {

namespace fs = std::filesystem;

// Later than any timestamp (ReductStore's are u64 microseconds; this is the
// largest a signed 64-bit reader takes too).
constexpr std::uint64_t kNoEnd = std::uint64_t(INT64_MAX);

// What is known of one frame: its annotation's label, if any, and the
// model's verdict, if it was read.
struct Judgement {
  std::optional<bool> annotated_anomalous;
  std::optional<bool> predicted_anomalous;
};

using Judgements = std::map<std::uint64_t, Judgement>;

bool wants(const PullOptions& options, Selection selection) {
  const auto& s = options.selections;
  if (s.empty()) return selection == Selection::kConfirmedNormal;
  return std::find(s.begin(), s.end(), selection) != s.end();
}

bool needs_verdicts(const PullOptions& options) {
  return wants(options, Selection::kNormal) ||
         wants(options, Selection::kAnomalous);
}

// Metadata of the records of `bucket` in the time range; none when the
// bucket or the entry does not exist.
std::vector<Record> labels_in_range(ReductClient& client,
                                    const std::string& bucket,
                                    const std::string& entry,
                                    const PullOptions& options) {
  QueryOptions query;
  query.start_us = options.since_us;
  // An explicit stop: without one ReductStore stops at the entry's last
  // record and refuses (422) a start after it, where no frame is the answer.
  query.stop_us = options.until_us.value_or(kNoEnd);
  query.metadata_only = true;
  try {
    return client.query(bucket, entry, query);
  } catch (const StorageError& error) {
    if (error.status() == 404) return {};
    throw;
  }
}

// timestamp -> whether `label` says "anomalous", for the records of
// `bucket` in the range that carry it.
std::map<std::uint64_t, bool> anomalous_by_time(ReductClient& client,
                                                const std::string& bucket,
                                                const std::string& entry,
                                                const PullOptions& options,
                                                const std::string& label) {
  std::map<std::uint64_t, bool> result;
  for (const Record& record : labels_in_range(client, bucket, entry, options)) {
    auto it = record.labels.find(label);
    if (it != record.labels.end()) {
      result[record.timestamp_us] = it->second == "anomalous";
    }
  }
  return result;
}

Judgements judge(ReductClient& client, const std::string& entry,
                 const PullOptions& options) {
  Judgements judgements;
  for (auto [timestamp_us, anomalous] :
       anomalous_by_time(client, kAnnotationsBucket, entry, options, "label")) {
    judgements[timestamp_us].annotated_anomalous = anomalous;
  }
  if (!needs_verdicts(options)) return judgements;
  for (auto [timestamp_us, anomalous] :
       anomalous_by_time(client, kFramesBucket, entry, options, "pred_label")) {
    judgements[timestamp_us].predicted_anomalous = anomalous;
  }
  return judgements;
}

// Whether the frame is taken, and as anomalous (true) or normal (false).
std::optional<bool> choose(const Judgement& j, const PullOptions& options) {
  bool annotated = j.annotated_anomalous.has_value();
  if (!annotated && !j.predicted_anomalous) return std::nullopt;
  bool anomalous = annotated ? *j.annotated_anomalous : *j.predicted_anomalous;
  bool confirmed = wants(options, anomalous ? Selection::kConfirmedAnomalous
                                            : Selection::kConfirmedNormal);
  bool any =
      wants(options, anomalous ? Selection::kAnomalous : Selection::kNormal);
  if (any || (annotated && confirmed)) return anomalous;
  return std::nullopt;
}

// ".jpg" for "image/jpeg", and so on; "" for what vigil does not read.
std::string extension_of(const Record& frame) {
  static const std::map<std::string, std::string> kExtensions = {
      {"image/jpeg", ".jpg"}, {"image/png", ".png"},   {"image/bmp", ".bmp"},
      {"image/tiff", ".tif"}, {"image/webp", ".webp"},
  };
  auto it = kExtensions.find(frame.content_type);
  if (it != kExtensions.end()) return it->second;
  if (frame.content_type != "image/x-portable-anymap") return "";
  bool gray =
      frame.data.size() > 1 && (frame.data[1] == '2' || frame.data[1] == '5');
  return gray ? ".pgm" : ".ppm";
}

void write_bytes(const fs::path& path, const std::vector<std::uint8_t>& data) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(reinterpret_cast<const char*>(data.data()),
             std::streamsize(data.size()));
  file.close();
  if (!file) throw Error(path.string(), "cannot write");
}

void make_dir(const fs::path& dir) {
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) throw Error(dir.string(), "cannot create: " + error.message());
}

// Reads the frame at `timestamp_us`; nullopt (and a warning) when it is
// gone or not an image vigil reads.
std::optional<Record> read_frame(ReductClient& client, const std::string& entry,
                                 std::uint64_t timestamp_us) {
  Record frame;
  try {
    frame = client.read_record(kFramesBucket, entry, timestamp_us);
  } catch (const StorageError& error) {
    if (error.status() != 404) throw;
    spdlog::warn("{}/{} at {}: annotated, but the frame is gone (FIFO quota)",
                 kFramesBucket, entry, timestamp_us);
    return std::nullopt;
  }
  if (extension_of(frame).empty()) {
    spdlog::warn("{}/{} at {}: skipped, content type '{}' is not an image",
                 kFramesBucket, entry, timestamp_us, frame.content_type);
    return std::nullopt;
  }
  return frame;
}

// Writes the annotation's mask of an anomalous frame, when one was drawn.
bool write_mask(ReductClient& client, const std::string& entry,
                std::uint64_t timestamp_us, const fs::path& path) {
  Record annotation =
      client.read_record(kAnnotationsBucket, entry, timestamp_us);
  if (annotation.data.empty()) return false;
  make_dir(path.parent_path());
  write_bytes(path, annotation.data);
  return true;
}

void pull_frame(ReductClient& client, const std::string& entry,
                std::uint64_t timestamp_us, const Judgement& judgement,
                bool anomalous, const PullOptions& options,
                PullSummary* summary) {
  std::optional<Record> frame = read_frame(client, entry, timestamp_us);
  if (!frame) {
    ++summary->skipped;
    return;
  }
  const fs::path root = options.output_dir;
  const std::string stem = entry + "_" + std::to_string(timestamp_us);
  const fs::path dir = root / (anomalous ? "abnormal" : "normal");
  make_dir(dir);
  write_bytes(dir / (stem + extension_of(*frame)), frame->data);
  ++(anomalous ? summary->abnormal : summary->normal);

  if (anomalous && judgement.annotated_anomalous &&
      write_mask(client, entry, timestamp_us,
                 root / "masks" / (stem + "_mask.png"))) {
    ++summary->masks;
  }
}

// Microseconds since the epoch from parse_utc_time's pattern matched:
// 1-3 date, 4-6 time, 7 fraction, 9-11 offset sign, hours, minutes.
// nullopt for a date or time that does not exist.
std::optional<std::int64_t> microseconds_of(const std::smatch& m) {
  auto number = [&](int i) { return m[i].matched ? std::stoi(m[i]) : 0; };
  using namespace std::chrono;
  year_month_day date{year(number(1)), month(unsigned(number(2))),
                      day(unsigned(number(3)))};
  if (!date.ok() || number(4) > 23 || number(5) > 59 || number(6) > 59) {
    return std::nullopt;
  }
  std::int64_t offset_s = std::int64_t(number(10)) * 3600 + number(11) * 60;
  if (m[9].matched && m[9] == "-") offset_s = -offset_s;
  std::string fraction = m[7].matched ? m[7].str() : "";
  fraction.resize(6, '0');

  std::int64_t seconds = sys_days(date).time_since_epoch() / 1s +
                         number(4) * 3600 + number(5) * 60 + number(6) -
                         offset_s;
  return seconds * 1000000 + std::stoll(fraction);
}

}  // namespace

Selection parse_selection(const std::string& text, const std::string& what) {
  static const std::map<std::string, Selection> kNames = {
      {"confirmed-normal", Selection::kConfirmedNormal},
      {"confirmed-anomalous", Selection::kConfirmedAnomalous},
      {"normal", Selection::kNormal},
      {"anomalous", Selection::kAnomalous}};
  auto it = kNames.find(text);
  if (it != kNames.end()) return it->second;
  throw Error(what,
              "expected confirmed-normal, confirmed-anomalous, normal or "
              "anomalous, got '" +
                  text + "'");
}

PullSummary pull_dataset(ReductClient& client, const PullOptions& options) {
  if (options.output_dir.empty()) throw Error("output", "no folder given");
  if (options.since_us && options.until_us &&
      *options.since_us >= *options.until_us) {
    throw Error("since and until", "since must come before until");
  }
  std::error_code error;
  if (fs::exists(options.output_dir, error) &&
      !fs::is_empty(options.output_dir, error)) {
    throw Error(options.output_dir,
                "is not empty; pull into a new folder, so that no earlier "
                "file mixes into the training set");
  }
  const std::string entry = entry_name(options.source);
  make_dir(options.output_dir);

  PullSummary summary;
  for (const auto& [timestamp_us, judgement] : judge(client, entry, options)) {
    std::optional<bool> anomalous = choose(judgement, options);
    if (!anomalous) continue;
    pull_frame(client, entry, timestamp_us, judgement, *anomalous, options,
               &summary);
  }
  return summary;
}

std::uint64_t parse_utc_time(const std::string& text, const std::string& what) {
  static const std::regex kPattern(
      R"((\d{4})-(\d{2})-(\d{2}))"
      R"((?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?)"
      R"((Z|([+-])(\d{2}):?(\d{2}))?)");
  std::smatch m;
  std::optional<std::int64_t> us;
  if (std::regex_match(text, m, kPattern)) us = microseconds_of(m);
  if (!us || *us < 0) {
    throw Error(what,
                "expected a time such as 2026-11-01 or 2026-11-01T08:30:00Z, "
                "got '" +
                    text + "'");
  }
  return std::uint64_t(*us);
}

}  // namespace vigil::storage
