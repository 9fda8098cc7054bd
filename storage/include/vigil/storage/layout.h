// What vigil keeps in ReductStore, and where: a thin layer over ReductClient
// that names the buckets, builds the records with their labels and reads the
// labels back.
//
//   vigil::storage::ReductClient client({.url = url, .api_token = token});
//   vigil::storage::ensure_buckets(client, {});   // at start-up, idempotent
//   vigil::storage::FrameLabels labels{.model = "tile", ...};
//   vigil::storage::Record frame =
//       vigil::storage::frame_record(timestamp_us, jpeg, "image/jpeg",
//                                    labels);
//   vigil::storage::write_once(client, vigil::storage::kFramesBucket,
//                              vigil::storage::entry_name("cam-1"), frame);
//
// The layout (also in the README, "Storage layout"):
//
//   bucket             entry         record at t (us)       quota
//   vigil-frames       <source>      the image as received   FIFO
//                                    (or PNG), verdict labels
//   vigil-maps         <source>      anomaly map, 8-bit PNG  FIFO
//                                    (same t as its frame)
//   vigil-annotations  <source>      mask PNG (may be empty) none
//                                    + label, annotator, time
//                                    (same t as its frame)
//   vigil-models       <model name>  the model file, labels  none
//                                    name, version, type...
//
// One timestamp ties a frame, its map and its annotation together across
// buckets. A person's annotation never changes the frame's labels: the
// model's verdict stays as it was.
//
// Errors: the functions that talk to the server throw StorageError (see
// reduct_client.h); parse_* throw vigil::Error naming the missing or bad
// label. Thread-safety: free functions without state; as safe as the client
// passed in.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vigil/storage/reduct_client.h"

namespace vigil::storage {

inline constexpr char kFramesBucket[] = "vigil-frames";
inline constexpr char kMapsBucket[] = "vigil-maps";
inline constexpr char kAnnotationsBucket[] = "vigil-annotations";
inline constexpr char kModelsBucket[] = "vigil-models";

// FIFO quotas of the two buckets that grow with every frame. When a bucket
// outgrows its quota the server drops its oldest blocks, so an edge disk
// never fills; annotations and models have no quota and are never dropped.
struct Quotas {
  std::uint64_t frames_bytes = 10ULL << 30;  // 10 GiB
  std::uint64_t maps_bytes = 2ULL << 30;     // 2 GiB
};

// Records a block of the two FIFO buckets holds (ReductStore's default is
// 1024; see layout.cc for why fewer).
inline constexpr std::uint64_t kFifoBlockRecords = 64;

// Creates the four buckets where they are missing. Existing buckets keep
// their settings (a changed quota is not applied to them; it is logged).
void ensure_buckets(ReductClient& client, const Quotas& quotas);

// ReductStore entry names allow [A-Za-z0-9_-]; every other character of
// `source` becomes '_'. An empty source is "default".
std::string entry_name(const std::string& source);

// Writes `record`; true when written, false when a record with its
// timestamp was already there (409), which is how a replay after a lost
// acknowledgement stays free of duplicates. Other refusals throw.
bool write_once(ReductClient& client, const std::string& bucket,
                const std::string& entry, const Record& record);

// The verdict on one frame, stored as the labels of its record.
struct FrameLabels {
  std::string model = {};          // model name
  std::string model_version = {};  // model version
  float pred_score = 0.0f;         // normalised, [0, 1]
  bool pred_label = false;         // stored as "anomalous" / "normal"
  float raw_score = 0.0f;          // the model's own score
  double latency_ms = 0.0;         // inference time of this frame
  std::string source = {};         // the source as configured (not sanitised)
  std::string frame_id = {};       // unique per frame, assigned on acceptance
  // Where the frame came from within its source: the file name, "frame
  // <n>" of a video, the upload's name. Empty: not stored.
  std::string origin = {};
};

Labels to_labels(const FrameLabels& frame);
// Throws vigil::Error naming a missing or malformed label.
FrameLabels parse_frame_labels(const Labels& labels);

// A frame record: `image` are the encoded bytes (as received, or a lossless
// PNG), `content_type` e.g. "image/jpeg".
Record frame_record(std::uint64_t timestamp_us, std::vector<std::uint8_t> image,
                    const std::string& content_type, const FrameLabels& labels);

// The anomaly map of the frame at `timestamp_us`: `map_png` is an 8-bit
// gray PNG, 0..255 for normalised scores 0..1, at the image's size. Labels
// frame_id, model, model_version and pred_score repeat the frame's, so a
// map can be found without its frame.
Record map_record(std::uint64_t timestamp_us, std::vector<std::uint8_t> map_png,
                  const FrameLabels& labels);

// A person's judgement of one frame.
struct Annotation {
  std::string label = {};             // "normal" or "anomalous"
  std::string annotator = {};         // who
  std::uint64_t annotated_at_us = 0;  // when, microseconds since the epoch
  // White-on-black defect mask as PNG at the image's size; empty when the
  // annotator drew none.
  std::vector<std::uint8_t> mask_png = {};
  std::string note = {};  // free text without line breaks or quotes; optional
};

// Stores `annotation` for the frame of `source` at `frame_timestamp_us`.
// A second annotation of the same frame throws StorageError 409 unless
// `replace`, which removes the first one before writing.
// Throws vigil::Error for a label other than normal/anomalous.
void store_annotation(ReductClient& client, const std::string& source,
                      std::uint64_t frame_timestamp_us,
                      const Annotation& annotation, bool replace = false);
// The annotation of that frame, if there is one.
std::optional<Annotation> read_annotation(ReductClient& client,
                                          const std::string& source,
                                          std::uint64_t frame_timestamp_us);

// A trained model kept in the store.
struct ModelRecord {
  std::string name = {};             // the entry; see entry_name()
  std::string version = {};          // e.g. "2026-12-03T14:07:00Z"
  std::string model_type = {};       // "padim", "patchcore", ...
  std::string backbone_sha256 = {};  // of the backbone it was trained with
  // Validation metrics; each top-level number becomes a label
  // "metric_<key>" so that queries can filter on it, e.g.
  // {"&metric_image_auroc": {"$gt": 0.95}}. Other values are not stored.
  nlohmann::json metrics = nlohmann::json::object();
  std::string status = "candidate";  // e.g. candidate, production, retired
};

Labels to_labels(const ModelRecord& model);
ModelRecord parse_model_labels(const Labels& labels);

// Stores the model file's bytes at `timestamp_us` in entry
// entry_name(model.name). The status can change later with update_labels.
void store_model(ReductClient& client, std::uint64_t timestamp_us,
                 const ModelRecord& model,
                 const std::vector<std::uint8_t>& model_file);

}  // namespace vigil::storage
