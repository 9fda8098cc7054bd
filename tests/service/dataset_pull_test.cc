// `vigil dataset pull` against the real server: frames and annotations are
// written as the service and a person would, then pulled into a folder that
// vigil's folder dataset loader reads (storage/dataset_pull.h).
#include "vigil/storage/dataset_pull.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include <opencv2/imgcodecs.hpp>

#include "service/service_support.h"
#include "storage/reduct_server.h"
#include "support/test_support.h"
#include "vigil/dataset.h"
#include "vigil/image_io.h"
#include "vigil/storage/layout.h"

namespace vigil::storage {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::ReductServer;
using testing::TempDir;
using ::testing::ThrowsMessage;

// Seconds since the epoch, from `date -u -d <time> +%s`.
constexpr std::uint64_t kOct31Noon = 1793448000;  // 2026-10-31T12:00:00Z
constexpr std::uint64_t kNov1 = 1793491200;       // 2026-11-01T00:00:00Z
constexpr std::uint64_t kNov1At8 = 1793520000;    // 2026-11-01T08:00:00Z
constexpr std::uint64_t kNov2At9 = 1793610000;    // 2026-11-02T09:00:00Z
constexpr std::uint64_t kNov2At10 = 1793613600;   // 2026-11-02T10:00:00Z
constexpr std::uint64_t kNov3At7 = 1793689200;    // 2026-11-03T07:00:00Z
constexpr std::uint64_t kNov3At8 = 1793692800;    // 2026-11-03T08:00:00Z
constexpr std::uint64_t kNov3At9 = 1793696400;    // 2026-11-03T09:00:00Z
constexpr std::uint64_t kUs = 1000000;

constexpr char kSource[] = "line 3";  // entry "line_3"

std::vector<std::string> names_in(const fs::path& dir) {
  std::set<std::string> names;
  if (!fs::exists(dir)) return {};
  for (const auto& file : fs::directory_iterator(dir)) {
    names.insert(file.path().filename().string());
  }
  return {names.begin(), names.end()};
}

std::string name_of(std::uint64_t seconds, const char* extension) {
  return "line_3_" + std::to_string(seconds * kUs) + extension;
}

// The store as the service and an annotator leave it:
//   Oct 31 12:00  frame normal,    annotated normal (before --since)
//   Nov 1  08:00  frame normal,    annotated normal
//   Nov 2  09:00  frame anomalous, annotated normal (the model was wrong)
//   Nov 2  10:00  frame anomalous, annotated anomalous, with a mask
//   Nov 3  07:00  frame normal,    not annotated
//   Nov 3  08:00  frame anomalous, not annotated
//   Nov 3  09:00  no frame (dropped by the FIFO quota), annotated normal
class DatasetPullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ensure_buckets(client_, {});
    images_ = testing::sample_images(6);
    add_frame(kOct31Noon, images_[0], false);
    add_frame(kNov1At8, images_[2], false);
    add_frame(kNov2At9, images_[4], true);
    add_frame(kNov2At10, images_[1], true);
    add_frame(kNov3At7, images_[3], false);
    add_frame(kNov3At8, images_[5], true);
    annotate(kOct31Noon, "normal");
    annotate(kNov1At8, "normal");
    annotate(kNov2At9, "normal");
    mask_png_ = read_file_bytes(mask_of(images_[1]).string());
    annotate(kNov2At10, "anomalous", mask_png_);
    annotate(kNov3At9, "normal");
  }

  static fs::path mask_of(const fs::path& image) {
    return testing::shared_dir() / "datasets" / "magnetic_tile" /
           "ground_truth" / "blowhole" / (image.stem().string() + "_mask.png");
  }

  void add_frame(std::uint64_t seconds, const fs::path& image, bool anomalous) {
    FrameLabels labels{.model = "tile",
                       .model_version = "v1",
                       .pred_score = anomalous ? 0.8f : 0.2f,
                       .pred_label = anomalous,
                       .source = kSource,
                       .frame_id = "f" + std::to_string(seconds)};
    write_once(client_, kFramesBucket, "line_3",
               frame_record(seconds * kUs, read_file_bytes(image.string()),
                            "image/jpeg", labels));
  }

  void annotate(std::uint64_t seconds, const std::string& label,
                std::vector<std::uint8_t> mask = {}) {
    store_annotation(client_, kSource, seconds * kUs,
                     {.label = label,
                      .annotator = "ana",
                      .annotated_at_us = (seconds + 60) * kUs,
                      .mask_png = std::move(mask)});
  }

  PullSummary pull(std::vector<Selection> selections,
                   std::optional<std::uint64_t> since_us = {},
                   std::optional<std::uint64_t> until_us = {},
                   const std::string& folder = "pulled") {
    PullOptions options;
    options.source = kSource;
    options.since_us = since_us;
    options.until_us = until_us;
    options.selections = std::move(selections);
    options.output_dir = (dir_ / folder).string();
    return pull_dataset(client_, options);
  }

  ReductServer server_;
  TempDir dir_;
  ReductClient client_{server_.client_options()};
  std::vector<fs::path> images_;  // good, blowhole, good, blowhole, ...
  std::vector<std::uint8_t> mask_png_;
};

TEST_F(DatasetPullTest, ConfirmedNormalSinceADateAreExactlyThoseFrames) {
  PullSummary summary = pull({}, parse_utc_time("2026-11-01", "--since"));

  EXPECT_EQ(summary.normal, 2);
  EXPECT_EQ(summary.abnormal, 0);
  EXPECT_EQ(summary.masks, 0);
  EXPECT_EQ(summary.skipped, 1);  // Nov 3 09:00 has no frame
  const fs::path root = dir_ / "pulled";
  EXPECT_THAT(names_in(root), ElementsAre("normal"));
  EXPECT_THAT(
      names_in(root / "normal"),
      ElementsAre(name_of(kNov1At8, ".jpg"), name_of(kNov2At9, ".jpg")));
  EXPECT_EQ(read_file_bytes((root / "normal" / name_of(kNov1At8, ".jpg"))),
            read_file_bytes(images_[2].string()));
  EXPECT_EQ(read_file_bytes((root / "normal" / name_of(kNov2At9, ".jpg"))),
            read_file_bytes(images_[4].string()));

  // What vigil train reads: 2 normal images, one held out.
  FolderLayout layout;
  layout.normal_dir = (dir_ / "pulled" / "normal").string();
  Dataset dataset = load_folder(layout);
  EXPECT_EQ(dataset.train.size(), 1u);
  EXPECT_EQ(dataset.test.size(), 1u);
  for (const Sample& sample : dataset.test) EXPECT_FALSE(sample.is_anomalous);
}

TEST_F(DatasetPullTest, ConfirmedAnomalousFramesComeWithTheirMasks) {
  PullSummary summary =
      pull({Selection::kConfirmedNormal, Selection::kConfirmedAnomalous},
           std::nullopt, parse_utc_time("2026-11-02T10:00:00Z", "--until"));

  // [start, 2026-11-02T10:00): the anomalous frame at 10:00 is left out.
  EXPECT_EQ(summary.normal, 3);
  EXPECT_EQ(summary.abnormal, 0);
  summary = pull({Selection::kConfirmedAnomalous}, std::nullopt, std::nullopt,
                 "anomalous");
  EXPECT_EQ(summary.normal, 0);
  EXPECT_EQ(summary.abnormal, 1);
  EXPECT_EQ(summary.masks, 1);

  const fs::path root = dir_ / "anomalous";
  EXPECT_THAT(names_in(root / "abnormal"),
              ElementsAre(name_of(kNov2At10, ".jpg")));
  EXPECT_THAT(names_in(root / "masks"),
              ElementsAre(name_of(kNov2At10, "_mask.png")));
  EXPECT_EQ(read_file_bytes((root / "masks" / name_of(kNov2At10, "_mask.png"))),
            mask_png_);

  FolderLayout layout;
  layout.normal_dir = (dir_ / "pulled" / "normal").string();
  layout.abnormal_dir = (root / "abnormal").string();
  layout.mask_dir = (root / "masks").string();
  Dataset dataset = load_folder(layout);
  int anomalous = 0;
  for (const Sample& sample : dataset.test) {
    if (!sample.is_anomalous) continue;
    ++anomalous;
    EXPECT_EQ(fs::path(sample.mask_path).filename(),
              name_of(kNov2At10, "_mask.png"));
  }
  EXPECT_EQ(anomalous, 1);
  EXPECT_EQ(dataset.train.size() + dataset.test.size(), 4u);
}

TEST_F(DatasetPullTest, AnAnnotationWinsOverTheModelsVerdict) {
  PullSummary summary =
      pull({Selection::kNormal, Selection::kAnomalous}, kNov2At9 * kUs);

  // Nov 2 09:00 is normal (annotated), Nov 3 07:00 normal (model);
  // Nov 2 10:00 anomalous (annotated), Nov 3 08:00 anomalous (model).
  const fs::path root = dir_ / "pulled";
  EXPECT_THAT(
      names_in(root / "normal"),
      ElementsAre(name_of(kNov2At9, ".jpg"), name_of(kNov3At7, ".jpg")));
  EXPECT_THAT(
      names_in(root / "abnormal"),
      ElementsAre(name_of(kNov2At10, ".jpg"), name_of(kNov3At8, ".jpg")));
  EXPECT_EQ(summary.normal, 2);
  EXPECT_EQ(summary.abnormal, 2);
  EXPECT_EQ(summary.masks, 1);  // the model's verdict has no mask
  EXPECT_EQ(summary.skipped, 1);
}

TEST_F(DatasetPullTest, ARangeAfterTheLastFrameIsEmpty) {
  PullSummary summary = pull({Selection::kNormal, Selection::kAnomalous},
                             parse_utc_time("2030-01-01", "--since"));
  EXPECT_EQ(summary.normal + summary.abnormal + summary.skipped, 0);
}

TEST_F(DatasetPullTest, ANonEmptyFolderOrAnEmptyRangeIsRefused) {
  pull({Selection::kNormal});
  const std::string folder = (dir_ / "pulled").string();
  EXPECT_THAT([&] { pull({Selection::kAnomalous}); },
              ThrowsMessage<Error>(
                  AllOf(HasSubstr(folder), HasSubstr("is not empty"))));
  EXPECT_THAT([&] { pull({}, kNov2At9 * kUs, kNov2At9 * kUs, "other"); },
              ThrowsMessage<Error>(HasSubstr("since must come before until")));
}

// `vigil dataset annotate`: a mask of another size or no image at all is
// refused, naming the file; a good one is stored as a 0/255 PNG.
TEST_F(DatasetPullTest, AnnotateOnTheCommandLineChecksTheMask) {
  const std::string command =
      (testing::binary_dir() / "vigil").string() +
      " dataset annotate --reduct-url " + server_.url() + " --reduct-token " +
      server_.client_options().api_token + " --source 'line 3' --timestamp " +
      std::to_string(kNov3At8 * kUs) + " --label anomalous --mask ";
  const std::string small = (dir_ / "small_mask.png").string();
  cv::imwrite(small, cv::Mat(10, 10, CV_8UC1, cv::Scalar(255)));
  const std::string text = (dir_ / "text_mask.png").string();
  std::ofstream(text) << "not an image";
  std::string output;
  EXPECT_NE(testing::run_command(command + small + " 2>&1", &output), 0);
  EXPECT_THAT(output, AllOf(HasSubstr(small), HasSubstr("mask is 10x10")));
  output.clear();
  EXPECT_NE(testing::run_command(command + text + " 2>&1", &output), 0);
  EXPECT_THAT(output, HasSubstr(text));
  EXPECT_FALSE(read_annotation(client_, kSource, kNov3At8 * kUs));

  const fs::path good = mask_of(images_[5]);
  output.clear();
  ASSERT_EQ(testing::run_command(command + good.string() + " 2>&1", &output), 0)
      << output;
  std::optional<Annotation> stored =
      read_annotation(client_, kSource, kNov3At8 * kUs);
  ASSERT_TRUE(stored);
  cv::Mat png = cv::imdecode(stored->mask_png, cv::IMREAD_UNCHANGED);
  cv::Mat given = cv::imread(good.string(), cv::IMREAD_GRAYSCALE);
  ASSERT_EQ(png.type(), CV_8UC1);
  ASSERT_EQ(png.size(), given.size());
  cv::Mat expected = given > 127;  // 0 or 255, as read_mask thresholds
  EXPECT_EQ(cv::countNonZero(png != expected), 0);
}

TEST_F(DatasetPullTest, AServerThatIsDownIsNamedInTheError) {
  const std::string url = server_.url();
  server_.stop();
  try {
    pull({});
    FAIL() << "pulled with the server down";
  } catch (const StorageError& e) {
    EXPECT_THAT(e.what(), HasSubstr(url));
    EXPECT_THAT(e.what(), HasSubstr("unreachable"));
  }
}

TEST(ParseUtcTime, ReadsDatesTimesAndOffsets) {
  EXPECT_EQ(parse_utc_time("2026-11-01", "t"), kNov1 * kUs);
  EXPECT_EQ(parse_utc_time("2026-11-01T08:00:00Z", "t"), kNov1At8 * kUs);
  EXPECT_EQ(parse_utc_time("2026-11-01T08:00", "t"), kNov1At8 * kUs);
  EXPECT_EQ(parse_utc_time("2026-11-01T10:00:00+02:00", "t"), kNov1At8 * kUs);
  EXPECT_EQ(parse_utc_time("2026-11-01T08:00:00.25Z", "t"),
            kNov1At8 * kUs + 250000);
  for (const char* bad : {"yesterday", "2026-02-30", "2026-11-01T25:00",
                          "2026-11-01T08:00:00Zjunk", ""}) {
    try {
      parse_utc_time(bad, "--since");
      ADD_FAILURE() << "accepted " << bad;
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("--since"));
    }
  }
}

}  // namespace
}  // namespace vigil::storage
