// The backbone cut at its taps, against PyPI's onnxruntime running the
// whole, uncut graph (tools/backbone_reference.py).
#include <cmath>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/test_support.h"
#include "vigil/backbone.h"
#include "vigil/error.h"

namespace vigil {
namespace {

std::string mobilenet() {
  return (testing::shared_dir() / "backbones" /
          "mobilenetv2-fp32-dequantized.onnx")
      .string();
}

std::vector<float> deterministic_input(int height, int width) {
  std::vector<float> x(3 * height * width);
  for (std::size_t i = 0; i < x.size(); ++i) {
    x[i] = static_cast<float>(std::sin(0.001 * static_cast<double>(i)));
  }
  return x;
}

nlohmann::json reference(int height, int width) {
  std::string command =
      testing::python() + " " +
      (testing::source_dir() / "tools" / "backbone_reference.py").string() +
      " " + mobilenet() + " " + std::to_string(height) + " " +
      std::to_string(width) + " 365 426";
  std::string output;
  EXPECT_EQ(testing::run_command(command, &output), 0) << output;
  return nlohmann::json::parse(output);
}

void expect_matches_reference(int height, int width) {
  auto backbone = Backbone::open({mobilenet(), {"365", "426"}, 2});
  std::vector<float> x = deterministic_input(height, width);
  std::vector<FeatureMap> taps = backbone->extract(x.data(), 1, height, width);
  nlohmann::json expected = reference(height, width);
  ASSERT_EQ(taps.size(), 2u);
  for (const FeatureMap& tap : taps) {
    const nlohmann::json& e = expected[tap.name];
    EXPECT_EQ(std::vector<int>({tap.n, tap.c, tap.h, tap.w}),
              e["shape"].get<std::vector<int>>());
    double sum = 0.0;
    for (float v : tap.data) sum += v;
    EXPECT_NEAR(sum, e["sum"].get<double>(),
                1e-4 * std::abs(e["sum"].get<double>()) + 1e-3);
    for (int i = 0; i < 16; ++i) {
      EXPECT_NEAR(tap.data[i], e["first"][i].get<float>(), 1e-4);
    }
  }
}

TEST(Backbone, TapsMatchTheUncutGraphAt224) {
  expect_matches_reference(224, 224);
}

TEST(Backbone, RunsAtOtherSizesThanDeclared) {
  expect_matches_reference(256, 320);
}

TEST(Backbone, UnknownTapIsAnErrorNamingTheTensor) {
  try {
    Backbone::open({mobilenet(), {"365", "no_such_tensor"}, 1});
    FAIL() << "expected vigil::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no_such_tensor"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find(mobilenet()), std::string::npos);
  }
}

TEST(Backbone, NonOnnxFileIsAnError) {
  testing::TempDir dir;
  std::string path = (dir / "not.onnx").string();
  std::ofstream(path) << "this is not a protobuf";
  try {
    Backbone::open({path, {"365"}, 1});
    FAIL() << "expected vigil::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
  }
  EXPECT_THROW(Backbone::open({(dir / "missing.onnx").string(), {"1"}, 1}),
               Error);
}

TEST(Backbone, Sha256MatchesAKnownDigest) {
  // SHA-256 of "abc" (FIPS 180-2, appendix B.1).
  testing::TempDir dir;
  std::string path = (dir / "abc").string();
  std::ofstream(path) << "abc";
  EXPECT_EQ(sha256_file(path),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace vigil
