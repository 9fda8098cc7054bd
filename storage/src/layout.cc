#include "vigil/storage/layout.h"

#include <cstdio>
#include <stdexcept>
#include <utility>

#include <spdlog/spdlog.h>

namespace vigil::storage {
namespace {

constexpr char kAnomalous[] = "anomalous";
constexpr char kNormal[] = "normal";
constexpr char kMetricPrefix[] = "metric_";

// Fixed notation for scores in [0, 1], so that labels compare as numbers
// in `when` conditions and read the same everywhere.
std::string format_number(const char* format, double value) {
  char text[64];
  std::snprintf(text, sizeof(text), format, value);
  return text;
}

const std::string& label_of(const Labels& labels, const std::string& name) {
  auto it = labels.find(name);
  if (it == labels.end()) throw Error("label " + name, "missing");
  return it->second;
}

double number_of(const Labels& labels, const std::string& name) {
  const std::string& text = label_of(labels, name);
  try {
    std::size_t used = 0;
    double value = std::stod(text, &used);
    if (used == text.size()) return value;
  } catch (const std::exception&) {
  }
  throw Error("label " + name, "not a number: '" + text + "'");
}

bool verdict_of(const std::string& name, const std::string& text) {
  if (text == kAnomalous) return true;
  if (text == kNormal) return false;
  throw Error("label " + name,
              "expected 'normal' or 'anomalous', got '" + text + "'");
}

void ensure_bucket(ReductClient& client, const std::string& name,
                   const BucketSettings& wanted) {
  client.create_bucket(name, wanted, /*exist_ok=*/true);
  if (!wanted.quota_size_bytes) return;
  BucketSettings actual = client.get_bucket(name).settings;
  if (actual.quota_type != wanted.quota_type ||
      actual.quota_size_bytes != wanted.quota_size_bytes) {
    spdlog::warn(
        "bucket {} exists with a quota of {} bytes; keeping it (wanted {} "
        "bytes FIFO; change it in ReductStore to apply)",
        name, actual.quota_size_bytes.value_or(0), *wanted.quota_size_bytes);
  }
}

// Set field by field: BucketSettings' optionals have no default member
// initialisers, which designated initialisers warn about.
BucketSettings quota(QuotaType type, std::uint64_t size_bytes = 0) {
  BucketSettings settings;
  settings.quota_type = type;
  if (type != QuotaType::kNone) {
    settings.quota_size_bytes = size_bytes;
    // ReductStore copies a block's record index on every write, so the
    // default of 1024 records a block makes each write dearer as the block
    // fills: with 64, storing cost 11.4-12.0 ms of CPU a frame instead of
    // 13.6 (vigil_serve_bench, PaDiM). Smaller blocks also let the FIFO
    // quota drop less at a time.
    settings.max_block_records = kFifoBlockRecords;
  }
  return settings;
}

}  // namespace

void ensure_buckets(ReductClient& client, const Quotas& quotas) {
  ensure_bucket(client, kFramesBucket,
                quota(QuotaType::kFifo, quotas.frames_bytes));
  ensure_bucket(client, kMapsBucket,
                quota(QuotaType::kFifo, quotas.maps_bytes));
  ensure_bucket(client, kAnnotationsBucket, quota(QuotaType::kNone));
  ensure_bucket(client, kModelsBucket, quota(QuotaType::kNone));
}

std::string entry_name(const std::string& source) {
  if (source.empty()) return "default";
  std::string name = source;
  for (char& c : name) {
    bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                   (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!allowed) c = '_';
  }
  return name;
}

bool write_once(ReductClient& client, const std::string& bucket,
                const std::string& entry, const Record& record) {
  try {
    client.write_record(bucket, entry, record);
    return true;
  } catch (const StorageError& error) {
    if (error.status() == 409) return false;
    throw;
  }
}

Labels to_labels(const FrameLabels& frame) {
  Labels labels = {{"model", frame.model},
                   {"model_version", frame.model_version},
                   {"pred_score", format_number("%.6f", frame.pred_score)},
                   {"pred_label", frame.pred_label ? kAnomalous : kNormal},
                   {"raw_score", format_number("%.6g", frame.raw_score)},
                   {"latency_ms", format_number("%.3f", frame.latency_ms)},
                   {"source", frame.source},
                   {"frame_id", frame.frame_id}};
  if (!frame.origin.empty()) labels["origin"] = frame.origin;
  return labels;
}

FrameLabels parse_frame_labels(const Labels& labels) {
  FrameLabels frame;
  frame.model = label_of(labels, "model");
  frame.model_version = label_of(labels, "model_version");
  frame.pred_score = float(number_of(labels, "pred_score"));
  frame.pred_label = verdict_of("pred_label", label_of(labels, "pred_label"));
  frame.raw_score = float(number_of(labels, "raw_score"));
  frame.latency_ms = number_of(labels, "latency_ms");
  frame.source = label_of(labels, "source");
  frame.frame_id = label_of(labels, "frame_id");
  auto origin = labels.find("origin");
  if (origin != labels.end()) frame.origin = origin->second;
  return frame;
}

Record frame_record(std::uint64_t timestamp_us, std::vector<std::uint8_t> image,
                    const std::string& content_type,
                    const FrameLabels& labels) {
  return {timestamp_us, std::move(image), content_type, to_labels(labels)};
}

Record map_record(std::uint64_t timestamp_us, std::vector<std::uint8_t> map_png,
                  const FrameLabels& labels) {
  Labels map_labels = {
      {"frame_id", labels.frame_id},
      {"model", labels.model},
      {"model_version", labels.model_version},
      {"pred_score", format_number("%.6f", labels.pred_score)}};
  return {timestamp_us, std::move(map_png), "image/png", map_labels};
}

void store_annotation(ReductClient& client, const std::string& source,
                      std::uint64_t frame_timestamp_us,
                      const Annotation& annotation, bool replace) {
  verdict_of("label", annotation.label);
  const std::string entry = entry_name(source);
  Record record{
      frame_timestamp_us,
      annotation.mask_png,
      annotation.mask_png.empty() ? "application/octet-stream" : "image/png",
      {{"label", annotation.label},
       {"annotator", annotation.annotator},
       {"annotated_at_us", std::to_string(annotation.annotated_at_us)}}};
  if (!annotation.note.empty()) record.labels["note"] = annotation.note;

  if (replace &&
      client.has_record(kAnnotationsBucket, entry, frame_timestamp_us)) {
    client.remove_record(kAnnotationsBucket, entry, frame_timestamp_us);
  }
  client.write_record(kAnnotationsBucket, entry, record);
}

std::optional<Annotation> read_annotation(ReductClient& client,
                                          const std::string& source,
                                          std::uint64_t frame_timestamp_us) {
  const std::string entry = entry_name(source);
  Record record;
  try {
    record = client.read_record(kAnnotationsBucket, entry, frame_timestamp_us);
  } catch (const StorageError& error) {
    if (error.status() == 404) return std::nullopt;
    throw;
  }
  Annotation annotation;
  annotation.label = label_of(record.labels, "label");
  annotation.annotator = label_of(record.labels, "annotator");
  annotation.annotated_at_us =
      std::uint64_t(number_of(record.labels, "annotated_at_us"));
  annotation.mask_png = std::move(record.data);
  auto note = record.labels.find("note");
  if (note != record.labels.end()) annotation.note = note->second;
  return annotation;
}

Labels to_labels(const ModelRecord& model) {
  Labels labels = {{"name", model.name},
                   {"version", model.version},
                   {"model_type", model.model_type},
                   {"backbone_sha256", model.backbone_sha256},
                   {"status", model.status}};
  if (!model.metrics.is_object()) return labels;
  for (const auto& [key, value] : model.metrics.items()) {
    if (!value.is_number()) continue;
    labels[kMetricPrefix + entry_name(key)] =
        format_number("%.6g", value.get<double>());
  }
  return labels;
}

ModelRecord parse_model_labels(const Labels& labels) {
  ModelRecord model;
  model.name = label_of(labels, "name");
  model.version = label_of(labels, "version");
  model.model_type = label_of(labels, "model_type");
  model.backbone_sha256 = label_of(labels, "backbone_sha256");
  model.status = label_of(labels, "status");
  const std::string prefix = kMetricPrefix;
  for (const auto& [name, value] : labels) {
    if (name.rfind(prefix, 0) != 0) continue;
    model.metrics[name.substr(prefix.size())] = number_of(labels, name);
  }
  return model;
}

void store_model(ReductClient& client, std::uint64_t timestamp_us,
                 const ModelRecord& model,
                 const std::vector<std::uint8_t>& model_file) {
  client.write_record(
      kModelsBucket, entry_name(model.name),
      {timestamp_us, model_file, "application/octet-stream", to_labels(model)});
}

}  // namespace vigil::storage
