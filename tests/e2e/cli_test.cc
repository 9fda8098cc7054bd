// The `vigil` command end to end on real shared images: a short training,
// test and predict, and the errors a user meets.
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "support/test_support.h"

namespace vigil {
namespace {
namespace fs = std::filesystem;

std::string vigil_binary() {
  return (testing::binary_dir() / "vigil").string();
}

std::string backbone() {
  return (testing::shared_dir() / "backbones" /
          "mobilenetv2-fp32-dequantized.onnx")
      .string();
}

// A small MVTec-layout copy of magnetic_tile: the first `n_train` good
// training images, and a few good and defective test images with masks.
fs::path small_dataset(const fs::path& root, int n_train) {
  fs::path source = testing::shared_dir() / "datasets" / "magnetic_tile";
  auto take = [](const fs::path& from, const fs::path& to, int n) {
    fs::create_directories(to);
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(from)) files.push_back(e);
    std::sort(files.begin(), files.end());
    for (int i = 0; i < n && i < static_cast<int>(files.size()); ++i) {
      fs::copy_file(files[i], to / files[i].filename());
    }
  };
  take(source / "train" / "good", root / "train" / "good", n_train);
  take(source / "test" / "good", root / "test" / "good", 4);
  take(source / "test" / "blowhole", root / "test" / "blowhole", 4);
  fs::create_directories(root / "ground_truth" / "blowhole");
  for (const auto& e : fs::directory_iterator(root / "test" / "blowhole")) {
    std::string mask = e.path().stem().string() + "_mask.png";
    fs::copy_file(source / "ground_truth" / "blowhole" / mask,
                  root / "ground_truth" / "blowhole" / mask);
  }
  return root;
}

int run(const std::string& args, std::string* output) {
  return testing::run_command(vigil_binary() + " " + args + " 2>&1", output);
}

TEST(Cli, TrainTestPredictOnRealImages) {
  testing::TempDir dir;
  fs::path data = small_dataset(dir / "tiles", 12);
  std::string model = (dir / "m.vigil").string();
  std::string out;
  ASSERT_EQ(run("train --dataset " + data.string() +
                    " --model padim --backbone " + backbone() +
                    " --layers 365,426 --image-size 160 --option "
                    "n_features=40 --output " +
                    model + " --json " + (dir / "train.json").string(),
                &out),
            0)
      << out;

  ASSERT_EQ(run("-q test --model " + model + " --dataset " + data.string() +
                    " --json " + (dir / "test.json").string(),
                &out),
            0)
      << out;
  nlohmann::json trained =
      nlohmann::json::parse(std::ifstream(dir / "train.json"));
  nlohmann::json tested =
      nlohmann::json::parse(std::ifstream(dir / "test.json"));
  EXPECT_EQ(tested["n_images"], 8);
  EXPECT_EQ(tested["n_anomalous"], 4);
  // Scoring is deterministic: test reproduces what training measured.
  EXPECT_NEAR(tested["image_auroc"].get<double>(),
              trained["image_auroc"].get<double>(), 1e-9);
  EXPECT_NEAR(tested["aupro"].get<double>(), trained["aupro"].get<double>(),
              1e-9);
  for (const char* key : {"image_auroc", "pixel_auroc", "aupro", "image_f1_max",
                          "image_threshold"}) {
    EXPECT_TRUE(tested.contains(key)) << key;
  }

  std::string predictions;
  ASSERT_EQ(testing::run_command(
                vigil_binary() + " -q predict --model " + model + " --input " +
                    (data / "test" / "blowhole").string() + " --output " +
                    (dir / "pictures").string() + " --visualization full",
                &predictions),
            0)
      << predictions;
  std::istringstream lines(predictions);
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    nlohmann::json p = nlohmann::json::parse(line);
    EXPECT_EQ(p["pred_label"].get<int>() == 1,
              p["pred_score"].get<double>() >= 0.5);
    EXPECT_GE(p["pred_score"].get<double>(), 0.0);
    EXPECT_LE(p["pred_score"].get<double>(), 1.0);
    ++count;
  }
  EXPECT_EQ(count, 4);
  int pictures = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir / "pictures")) {
    pictures += e.path().extension() == ".png";
  }
  EXPECT_EQ(pictures, 4);

  // Two images with one stem get two pictures, each named in its line.
  fs::path same = dir / "same";
  fs::create_directories(same);
  fs::path first = *fs::directory_iterator(data / "test" / "blowhole");
  fs::copy_file(first, same / "a.jpg");
  cv::imwrite((same / "a.png").string(), cv::imread(first.string()));
  predictions.clear();
  ASSERT_EQ(testing::run_command(vigil_binary() + " -q predict --model " +
                                     model + " --input " + same.string() +
                                     " --output " + (dir / "pictures").string(),
                                 &predictions),
            0)
      << predictions;
  std::set<std::string> named;
  lines = std::istringstream(predictions);
  while (std::getline(lines, line)) {
    std::string picture = nlohmann::json::parse(line)["picture"];
    EXPECT_TRUE(fs::is_regular_file(picture)) << picture;
    named.insert(picture);
  }
  EXPECT_EQ(named, (std::set<std::string>{
                       (dir / "pictures" / "same" / "a.png").string(),
                       (dir / "pictures" / "same" / "a.png.png").string()}));

  // One changed byte in the model's data: refused, naming the file.
  {
    std::fstream f(model, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(-1, std::ios::end);
    char last = char(f.get());
    f.seekp(-1, std::ios::end);
    f.put(char(last ^ 0x01));
  }
  EXPECT_NE(
      run("predict --model " + model + " --input " + first.string(), &out), 0);
  EXPECT_NE(out.find(model), std::string::npos) << out;
  EXPECT_NE(out.find("checksum"), std::string::npos) << out;
}

TEST(Cli, UnwritableOutputIsFoundBeforeTraining) {
  testing::TempDir dir;
  fs::path data = small_dataset(dir / "tiles", 3);
  const std::string output = (dir / "no" / "such" / "m.vigil").string();
  std::string out;
  EXPECT_NE(
      run("train --dataset " + data.string() + " --model padim --backbone " +
              backbone() + " --layers 365 --output " + output,
          &out),
      0);
  EXPECT_NE(out.find(output), std::string::npos) << out;
  EXPECT_NE(out.find("nothing was done"), std::string::npos) << out;
  EXPECT_EQ(out.find("padim:"), std::string::npos) << out;  // no training
}

TEST(Cli, MissingDatasetIsAnErrorNamingTheFolder) {
  std::string out;
  EXPECT_NE(run("train --dataset /no/such/folder --model padim --backbone " +
                    backbone() + " --layers 365 --output /tmp/x.vigil",
                &out),
            0);
  EXPECT_NE(out.find("/no/such/folder"), std::string::npos) << out;
}

TEST(Cli, CorruptModelFileIsAnErrorNamingIt) {
  testing::TempDir dir;
  std::string model = (dir / "broken.vigil").string();
  std::ofstream(model) << "not a model";
  std::string out;
  EXPECT_NE(run("predict --model " + model + " --input " + backbone(), &out),
            0);
  EXPECT_NE(out.find(model), std::string::npos) << out;
}

TEST(Cli, UnknownModelOptionIsAnError) {
  testing::TempDir dir;
  fs::path data = small_dataset(dir / "tiles", 3);
  std::string out;
  EXPECT_NE(
      run("train --dataset " + data.string() + " --model padim --backbone " +
              backbone() + " --layers 365 --option bogus=1 --output " +
              (dir / "m.vigil").string(),
          &out),
      0);
  EXPECT_NE(out.find("bogus"), std::string::npos) << out;
}

}  // namespace
}  // namespace vigil
