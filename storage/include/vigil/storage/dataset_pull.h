// Builds a training folder from what the service stored: frames of one
// source, chosen by time and by label (a person's annotation, or the
// model's verdict), written in the folder layout `vigil train` reads.
//
//   vigil::storage::ReductClient client({.url = url, .api_token = token});
//   vigil::storage::PullOptions options;
//   options.source = "line-3";
//   options.since_us = vigil::storage::parse_utc_time("2026-11-01", "--since");
//   options.selections = {vigil::storage::Selection::kConfirmedNormal};
//   options.output_dir = "pulled";
//   PullSummary summary = vigil::storage::pull_dataset(client, options);
//
// The folder:
//   <output>/normal/<entry>_<timestamp_us>.<ext>     frames judged normal
//   <output>/abnormal/<entry>_<timestamp_us>.<ext>   frames judged anomalous
//   <output>/masks/<entry>_<timestamp_us>_mask.png   their annotation masks
// <entry> is entry_name(source), <timestamp_us> the frame's timestamp, <ext>
// follows the stored content type (.jpg, .png, ...). Bytes are written as
// stored. The folder must be new or empty, so that no file of an earlier
// pull mixes in.
//
// Which label decides: a person's annotation wins over the model's verdict.
// kConfirmedNormal and kConfirmedAnomalous take annotated frames only;
// kNormal and kAnomalous take every frame by its annotation where there is
// one and by pred_label otherwise.
//
// Errors: StorageError (reduct_client.h) naming the URL when the server
// refuses or cannot be reached; vigil::Error naming the folder when it is
// not empty, or the file for a write that fails, and for since_us not
// before until_us. A range after the last frame gives an empty folder. A frame
// whose annotation outlived it (the frames bucket's FIFO quota dropped it) is
// skipped, counted and logged. Thread-safety: stateless; as safe as the client.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vigil/storage/reduct_client.h"

namespace vigil::storage {

enum class Selection {
  kConfirmedNormal,     // annotated normal
  kConfirmedAnomalous,  // annotated anomalous
  kNormal,              // annotated normal, or not annotated and normal
  kAnomalous,           // annotated anomalous, or not annotated, anomalous
};

// "confirmed-normal", "confirmed-anomalous", "normal", "anomalous".
// Throws vigil::Error naming `what` (e.g. the flag) for anything else.
Selection parse_selection(const std::string& text, const std::string& what);

struct PullOptions {
  std::string source = {};  // as configured in serve; see entry_name()
  // Frames accepted in [since_us, until_us), microseconds since the epoch;
  // unset: from the first, to the last.
  std::optional<std::uint64_t> since_us = {};
  std::optional<std::uint64_t> until_us = {};
  // The union of these; empty means kConfirmedNormal.
  std::vector<Selection> selections = {};
  std::string output_dir = {};  // created when missing
};

struct PullSummary {
  int normal = 0;    // images written to normal/
  int abnormal = 0;  // images written to abnormal/
  int masks = 0;     // masks written to masks/
  // Frames chosen but not written: gone (dropped by the frames bucket's
  // FIFO quota) or not an image format vigil reads.
  int skipped = 0;
};

PullSummary pull_dataset(ReductClient& client, const PullOptions& options);

// "2026-11-01", "2026-11-01T08:30:00", "2026-11-01T08:30:00.250Z" or with
// an offset "+02:00"; without one the time is UTC. Microseconds since the
// epoch. Throws vigil::Error naming `what` when the text is none of these.
std::uint64_t parse_utc_time(const std::string& text, const std::string& what);

}  // namespace vigil::storage
