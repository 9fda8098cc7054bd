// vigil dataset pull|annotate: a training folder from what `vigil serve`
// stored, and a person's label beside a stored frame
// (storage/include/vigil/storage/dataset_pull.h and layout.h do the work).
#ifdef VIGIL_HAVE_SERVICE
#include <chrono>
#include <cstdlib>
#include <memory>

#include <spdlog/spdlog.h>
#include <opencv2/imgcodecs.hpp>

#include "commands.h"
#include "reduct_flags.h"
#include "vigil/image_io.h"
#include "vigil/storage/dataset_pull.h"
#include "vigil/storage/layout.h"

namespace vigil::cli {
namespace {

struct AnnotateFlags {
  ReductFlags reduct;
  std::string source;
  std::uint64_t timestamp_us = 0;
  std::string label;
  std::string mask;
  std::string annotator;
  std::string note;
  bool replace = false;
};

struct PullFlags {
  ReductFlags reduct;
  std::string source;
  std::string since;
  std::string until;
  std::vector<std::string> labels;
  std::string output;
};

storage::PullOptions options_of(const PullFlags& f) {
  storage::PullOptions options;
  options.source = f.source;
  if (!f.since.empty()) {
    options.since_us = storage::parse_utc_time(f.since, "--since");
  }
  if (!f.until.empty()) {
    options.until_us = storage::parse_utc_time(f.until, "--until");
  }
  for (const std::string& label : f.labels) {
    options.selections.push_back(storage::parse_selection(label, "--label"));
  }
  options.output_dir = f.output;
  return options;
}

void run_pull(const PullFlags& f) {
  storage::PullOptions options = options_of(f);
  storage::ReductClient client = f.reduct.client();
  storage::PullSummary s = storage::pull_dataset(client, options);
  spdlog::info(
      "{}: {} normal, {} abnormal image(s), {} mask(s) from source {} at {}",
      f.output, s.normal, s.abnormal, s.masks, f.source, f.reduct.url);
  if (s.skipped > 0) {
    spdlog::warn("{} frame(s) skipped (gone, or not an image)", s.skipped);
  }
  if (s.normal == 0) {
    spdlog::warn("{}: no normal image; vigil train needs some", f.output);
  }
}

std::uint64_t now_us() {
  auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return std::uint64_t(
      std::chrono::duration_cast<std::chrono::microseconds>(since_epoch)
          .count());
}

// The mask as vigil stores it: a PNG of 0 and 255 at the frame's size,
// whatever the format of the file (read_mask refuses another size).
std::vector<std::uint8_t> mask_png_for(const std::string& mask_path,
                                       const storage::Record& frame,
                                       const std::string& frame_name) {
  cv::Mat image = decode_image(frame.data, frame_name);
  cv::Mat mask = read_mask(mask_path, image.size()) * 255;
  std::vector<std::uint8_t> png;
  cv::imencode(".png", mask, png);
  return png;
}

void run_annotate(const AnnotateFlags& f) {
  storage::ReductClient client = f.reduct.client();
  const std::string entry = storage::entry_name(f.source);
  const std::string frame_name = f.reduct.url + " " + storage::kFramesBucket +
                                 "/" + entry + " at " +
                                 std::to_string(f.timestamp_us);
  storage::Record frame;
  try {
    frame = client.read_record(storage::kFramesBucket, entry, f.timestamp_us);
  } catch (const storage::StorageError& e) {
    if (e.status() != 404) throw;
    throw Error(frame_name, "no such frame");
  }
  storage::Annotation annotation{.label = f.label,
                                 .annotator = f.annotator,
                                 .annotated_at_us = now_us(),
                                 .note = f.note};
  if (!f.mask.empty()) {
    annotation.mask_png = mask_png_for(f.mask, frame, frame_name);
  }
  try {
    storage::store_annotation(client, f.source, f.timestamp_us, annotation,
                              f.replace);
  } catch (const storage::StorageError& e) {
    if (e.status() != 409) throw;
    throw Error(e.what(), "the frame is annotated already (--replace)");
  }
  spdlog::info("frame {} at {} annotated {} by {}", entry, f.timestamp_us,
               f.label, f.annotator);
}

void add_annotate(CLI::App& dataset) {
  auto f = std::make_shared<AnnotateFlags>();
  const char* user = std::getenv("USER");
  f->annotator = user != nullptr && *user != '\0' ? user : "unknown";
  CLI::App* annotate = dataset.add_subcommand(
      "annotate",
      "store a person's label (and mask) beside a stored frame; the "
      "model's verdict stays as it was");
  f->reduct.add_to(*annotate);
  annotate->add_option("--source", f->source, "the frame's source")->required();
  annotate
      ->add_option("--timestamp", f->timestamp_us,
                   "the frame's timestamp_us (in the verdict JSON, or the "
                   "pulled file's name)")
      ->required();
  annotate->add_option("--label", f->label, "what the frame really is")
      ->required()
      ->check(CLI::IsMember({"normal", "anomalous"}));
  annotate->add_option("--mask", f->mask,
                       "image at the frame's size, white = defect (stored as "
                       "a 0/255 PNG)");
  annotate->add_option("--annotator", f->annotator,
                       "who (default: $USER, else unknown)");
  annotate->add_option("--note", f->note, "free text, one line");
  annotate->add_flag("--replace", f->replace,
                     "replace an earlier annotation of the frame");
  annotate->callback([f] { run_annotate(*f); });
}

}  // namespace

void add_dataset_command(CLI::App& app) {
  auto f = std::make_shared<PullFlags>();
  CLI::App* dataset =
      app.add_subcommand("dataset", "datasets from what vigil serve stored");
  dataset->require_subcommand(1);

  CLI::App* pull = dataset->add_subcommand(
      "pull",
      "write stored frames as a training folder (normal/, abnormal/, "
      "masks/)");
  f->reduct.add_to(*pull);
  pull->add_option("--source", f->source, "the source the frames came from")
      ->required();
  pull->add_option("--since", f->since,
                   "frames accepted at or after this UTC time "
                   "(2026-11-01 or 2026-11-01T08:30:00Z)");
  pull->add_option("--until", f->until, "frames accepted before this time");
  pull->add_option("--label", f->labels,
                   "confirmed-normal (default), confirmed-anomalous: as a "
                   "person annotated; normal, anomalous: annotation, else "
                   "the model's verdict; repeat for several")
      ->check(CLI::IsMember(
          {"confirmed-normal", "confirmed-anomalous", "normal", "anomalous"}));
  pull->add_option("--output,-o", f->output, "folder to write")->required();
  pull->callback([f] { run_pull(*f); });
  add_annotate(*dataset);
}

}  // namespace vigil::cli

#endif  // VIGIL_HAVE_SERVICE
