#include "vigil/dataset.h"

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "support/test_support.h"
#include "vigil/error.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;

std::string error_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected vigil::Error";
  return "";
}

// Routes spdlog's default logger into a string while alive.
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(stream_);
    auto logger = std::make_shared<spdlog::logger>("capture", sink);
    logger->set_level(spdlog::level::debug);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  std::string text() const { return stream_.str(); }

 private:
  std::shared_ptr<spdlog::logger> previous_;
  std::ostringstream stream_;
};

// Listing never decodes, so fixture "images" need only exist.
void touch(const fs::path& path) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << "x";
}

std::vector<std::string> paths_of(const std::vector<Sample>& samples) {
  std::vector<std::string> paths;
  for (const Sample& s : samples) paths.push_back(s.image_path);
  return paths;
}

bool is_sorted_by_path(const std::vector<Sample>& samples) {
  std::vector<std::string> paths = paths_of(samples);
  return std::is_sorted(paths.begin(), paths.end());
}

struct Counts {
  std::size_t normal = 0, defective = 0, masks = 0;
  std::map<std::string, int> per_type;
};

Counts count(const std::vector<Sample>& test) {
  Counts c;
  for (const Sample& s : test) {
    (s.is_anomalous ? c.defective : c.normal) += 1;
    c.masks += !s.mask_path.empty();
    c.per_type[s.defect_type] += 1;
  }
  return c;
}

TEST(LoadMvtec, MagneticTile) {
  Dataset ds =
      load_mvtec((testing::shared_dir() / "datasets/magnetic_tile").string());
  EXPECT_EQ(ds.train.size(), 711u);
  EXPECT_TRUE(is_sorted_by_path(ds.train));
  for (const Sample& s : ds.train) {
    EXPECT_FALSE(s.is_anomalous);
    EXPECT_EQ(s.defect_type, "good");
  }

  Counts c = count(ds.test);
  EXPECT_EQ(c.normal, 241u);
  EXPECT_EQ(c.defective, 388u);
  EXPECT_EQ(c.masks, 388u);
  std::map<std::string, int> expected = {{"blowhole", 115}, {"break", 85},
                                         {"crack", 57},     {"fray", 32},
                                         {"good", 241},     {"uneven", 99}};
  EXPECT_EQ(c.per_type, expected);
  for (const Sample& s : ds.test) {
    if (!s.is_anomalous) continue;
    EXPECT_TRUE(fs::is_regular_file(s.mask_path)) << s.mask_path;
    EXPECT_EQ(fs::path(s.mask_path).filename().string(),
              fs::path(s.image_path).stem().string() + "_mask.png");
  }
}

TEST(LoadMvtec, Kolektorsdd) {
  Dataset ds =
      load_mvtec((testing::shared_dir() / "datasets/kolektorsdd").string());
  EXPECT_EQ(ds.train.size(), 249u);
  Counts c = count(ds.test);
  EXPECT_EQ(c.normal, 84u);
  EXPECT_EQ(c.defective, 50u);
  EXPECT_EQ(c.masks, 50u);
}

TEST(LoadMvtec, KeepsDefectiveImageWithoutMaskAndWarns) {
  testing::TempDir dir;
  touch(dir / "train/good/b.png");
  touch(dir / "train/good/a.png");
  touch(dir / "train/good/notes.txt");  // not an image
  touch(dir / "train/good/._a.png");    // hidden: a macOS resource fork
  touch(dir / "test/good/c.png");
  touch(dir / "test/scratch/d.png");
  touch(dir / "test/scratch/e.png");
  touch(dir / "ground_truth/scratch/d_mask.png");
  touch(dir / "ground_truth/scratch/orphan_mask.png");

  LogCapture log;
  Dataset ds = load_mvtec(dir.path().string());
  EXPECT_EQ(paths_of(ds.train),
            (std::vector<std::string>{(dir / "train/good/a.png").string(),
                                      (dir / "train/good/b.png").string()}));
  ASSERT_EQ(ds.test.size(), 3u);
  EXPECT_FALSE(ds.test[0].is_anomalous);
  EXPECT_EQ(ds.test[1].mask_path,
            (dir / "ground_truth/scratch/d_mask.png").string());
  EXPECT_EQ(ds.test[1].defect_type, "scratch");
  EXPECT_TRUE(ds.test[2].is_anomalous);
  EXPECT_EQ(ds.test[2].mask_path, "");

  std::string text = log.text();
  EXPECT_NE(text.find("[warning] " + (dir / "test/scratch/e.png").string()),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("[debug] " +
                      (dir / "ground_truth/scratch/orphan_mask.png").string()),
            std::string::npos)
      << text;
}

TEST(LoadMvtec, NamesTheMissingOrEmptyFolder) {
  testing::TempDir dir;
  touch(dir / "test/good/c.png");
  std::string message = error_of([&] { load_mvtec(dir.path().string()); });
  EXPECT_NE(message.find((dir / "train/good").string() + ": no such folder"),
            std::string::npos)
      << message;

  fs::create_directories(dir / "train/good");
  message = error_of([&] { load_mvtec(dir.path().string()); });
  EXPECT_NE(message.find((dir / "train/good").string() + ": no images"),
            std::string::npos)
      << message;

  message = error_of([&] { load_mvtec((dir / "nothing").string()); });
  EXPECT_NE(message.find("no such folder"), std::string::npos) << message;
}

// Ten normal images n00..n09, two defective ones, one with a mask.
struct FolderFixture {
  testing::TempDir dir;
  FolderLayout layout;

  FolderFixture() {
    for (int i = 0; i < 10; ++i) {
      touch(dir / "normal" / ("n0" + std::to_string(i) + ".png"));
    }
    touch(dir / "broken/x.jpg");
    touch(dir / "broken/y.jpg");
    touch(dir / "masks/x_mask.png");
    layout.normal_dir = (dir / "normal").string();
    layout.abnormal_dir = (dir / "broken").string();
    layout.mask_dir = (dir / "masks").string();
    layout.seed = 7;
  }
};

TEST(LoadFolder, HoldsOutNormalsForTest) {
  FolderFixture f;
  LogCapture log;
  Dataset ds = load_folder(f.layout);

  ASSERT_EQ(ds.train.size(), 8u);  // 20% of 10 held out
  ASSERT_EQ(ds.test.size(), 4u);
  EXPECT_TRUE(is_sorted_by_path(ds.train));
  std::set<std::string> all;
  for (const Sample& s : ds.train) all.insert(s.image_path);
  for (int i = 0; i < 2; ++i) {
    EXPECT_FALSE(ds.test[i].is_anomalous);
    all.insert(ds.test[i].image_path);
  }
  EXPECT_EQ(all.size(), 10u);  // disjoint, and together all normals

  EXPECT_TRUE(ds.test[2].is_anomalous);
  EXPECT_EQ(ds.test[2].defect_type, "broken");
  EXPECT_EQ(ds.test[2].mask_path, (f.dir / "masks/x_mask.png").string());
  EXPECT_EQ(ds.test[3].mask_path, "");
  EXPECT_NE(log.text().find((f.dir / "broken/y.jpg").string()),
            std::string::npos);
}

TEST(LoadFolder, SameSeedSameSplit) {
  FolderFixture f;
  Dataset first = load_folder(f.layout);
  Dataset again = load_folder(f.layout);
  EXPECT_EQ(paths_of(first.test), paths_of(again.test));

  // Different seeds pick different images for at least one of these.
  std::set<std::vector<std::string>> splits;
  for (std::uint64_t seed : {1, 2, 3, 4}) {
    f.layout.seed = seed;
    splits.insert(paths_of(load_folder(f.layout).train));
  }
  EXPECT_GT(splits.size(), 1u);
}

TEST(LoadFolder, KeepsOneForTrainingAndHoldsOutOne) {
  testing::TempDir dir;
  FolderLayout layout;
  layout.normal_dir = (dir / "normal").string();
  touch(dir / "normal/a.png");
  Dataset ds = load_folder(layout);
  EXPECT_EQ(ds.train.size(), 1u);
  EXPECT_EQ(ds.test.size(), 0u);

  touch(dir / "normal/b.png");
  layout.holdout_fraction = 0.01;
  ds = load_folder(layout);
  EXPECT_EQ(ds.train.size(), 1u);
  EXPECT_EQ(ds.test.size(), 1u);

  layout.holdout_fraction = 0.99;
  ds = load_folder(layout);
  EXPECT_EQ(ds.train.size(), 1u);
  EXPECT_EQ(ds.test.size(), 1u);

  layout.holdout_fraction = 1.0;
  EXPECT_NE(error_of([&] { load_folder(layout); }).find("holdout_fraction"),
            std::string::npos);
}

TEST(LoadFolder, UsesNormalTestFolderWhenGiven) {
  FolderFixture f;
  touch(f.dir / "normal_test/t.png");
  f.layout.normal_test_dir = (f.dir / "normal_test").string();
  f.layout.abnormal_dir.clear();
  Dataset ds = load_folder(f.layout);
  EXPECT_EQ(ds.train.size(), 10u);
  ASSERT_EQ(ds.test.size(), 1u);
  EXPECT_EQ(ds.test[0].image_path, (f.dir / "normal_test/t.png").string());
}

TEST(LoadFolder, RejectsEmptyOrMissingFolders) {
  testing::TempDir dir;
  fs::create_directories(dir / "normal");
  FolderLayout layout;
  layout.normal_dir = (dir / "normal").string();
  std::string message = error_of([&] { load_folder(layout); });
  EXPECT_NE(message.find(layout.normal_dir + ": no images"), std::string::npos)
      << message;

  touch(dir / "normal/a.png");
  layout.mask_dir = (dir / "masks").string();
  layout.abnormal_dir = (dir / "broken").string();
  message = error_of([&] { load_folder(layout); });
  EXPECT_NE(message.find(layout.abnormal_dir + ": no such folder"),
            std::string::npos)
      << message;
}

TEST(ListImages, SortsAndRejectsNonFolders) {
  testing::TempDir dir;
  touch(dir / "b.PNG");
  touch(dir / "a.jpg");
  touch(dir / "c.txt");
  fs::create_directories(dir / "sub.png");  // a folder, not an image
  EXPECT_EQ(list_images(dir.path().string()),
            (std::vector<std::string>{(dir / "a.jpg").string(),
                                      (dir / "b.PNG").string()}));

  std::string file = (dir / "a.jpg").string();
  EXPECT_NE(error_of([&] { list_images(file); }).find(file + ": not a folder"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              list_images((dir / "none").string());
            }).find("no such folder"),
            std::string::npos);
}

}  // namespace
}  // namespace vigil
