#include "vigil/image_io.h"

#include <fstream>
#include <functional>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include "support/test_support.h"
#include "vigil/error.h"

namespace vigil {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes encode(const std::string& ext, const cv::Mat& image) {
  std::vector<uchar> buffer;
  EXPECT_TRUE(cv::imencode(ext, image, buffer));
  return Bytes(buffer.begin(), buffer.end());
}

void write_bytes(const std::filesystem::path& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

// The message of the vigil::Error that `call` throws ("" if none).
std::string error_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected vigil::Error";
  return "";
}

// A smooth pattern, so JPEG files have a realistic structure.
cv::Mat pattern(int rows, int cols) {
  cv::Mat image(rows, cols, CV_8UC3);
  for (int y = 0; y < rows; ++y) {
    for (int x = 0; x < cols; ++x) {
      image.at<cv::Vec3b>(y, x) = cv::Vec3b(x * 3, y * 3, (x + y) * 2);
    }
  }
  return image;
}

// Offset of a big-endian 16-bit field in a JPEG's first SOF0 segment.
std::size_t sof_offset(const Bytes& jpeg) {
  for (std::size_t i = 2; i + 1 < jpeg.size(); ++i) {
    if (jpeg[i] == 0xFF && jpeg[i + 1] == 0xC0) return i;
  }
  ADD_FAILURE() << "no SOF0 marker";
  return 0;
}

TEST(DecodeImage, ConvertsBgrToRgb) {
  cv::Mat bgr(2, 3, CV_8UC3, cv::Scalar(0, 0, 255));  // pure red in BGR
  cv::Mat rgb = decode_image(encode(".png", bgr), "red.png");
  ASSERT_EQ(rgb.type(), CV_8UC3);
  EXPECT_EQ(rgb.size(), cv::Size(3, 2));
  EXPECT_EQ(rgb.at<cv::Vec3b>(1, 2), cv::Vec3b(255, 0, 0));
}

TEST(DecodeImage, ReplicatesGrayToThreeChannels) {
  cv::Mat gray = (cv::Mat_<std::uint8_t>(1, 3) << 0, 100, 255);
  cv::Mat rgb = decode_image(encode(".png", gray), "gray.png");
  ASSERT_EQ(rgb.type(), CV_8UC3);
  EXPECT_EQ(rgb.at<cv::Vec3b>(0, 0), cv::Vec3b(0, 0, 0));
  EXPECT_EQ(rgb.at<cv::Vec3b>(0, 1), cv::Vec3b(100, 100, 100));
  EXPECT_EQ(rgb.at<cv::Vec3b>(0, 2), cv::Vec3b(255, 255, 255));
}

TEST(DecodeImage, ScalesSixteenBitByDividingBy257) {
  cv::Mat deep = (cv::Mat_<std::uint16_t>(1, 5) << 0, 257, 32896, 65535, 1000);
  cv::Mat rgb = decode_image(encode(".png", deep), "deep.png");
  ASSERT_EQ(rgb.type(), CV_8UC3);
  // 1000 / 257 = 3.89, rounded to 4 (a shift by 8 would give 3).
  const std::uint8_t expected[5] = {0, 1, 128, 255, 4};
  for (int x = 0; x < 5; ++x) {
    EXPECT_EQ(rgb.at<cv::Vec3b>(0, x)[0], expected[x]) << "x=" << x;
  }
}

TEST(DecodeImage, DropsAlpha) {
  cv::Mat bgra(2, 2, CV_8UC4, cv::Scalar(255, 0, 0, 128));  // blue, half alpha
  cv::Mat rgb = decode_image(encode(".png", bgra), "alpha.png");
  ASSERT_EQ(rgb.type(), CV_8UC3);
  EXPECT_EQ(rgb.at<cv::Vec3b>(0, 0), cv::Vec3b(0, 0, 255));
}

TEST(DecodeImage, RejectsEmptyInput) {
  std::string message = error_of([] { decode_image({}, "upload"); });
  EXPECT_NE(message.find("upload: empty"), std::string::npos) << message;
}

TEST(DecodeImage, RejectsUnknownBytes) {
  std::string text = "this is not an image at all";
  Bytes junk(text.begin(), text.end());
  std::string message = error_of([&] { decode_image(junk, "junk.png"); });
  EXPECT_NE(message.find("junk.png: cannot decode"), std::string::npos)
      << message;
}

TEST(DecodeImage, RejectsCorruptPngData) {
  Bytes png = encode(".png", pattern(32, 32));
  // Overwrite the middle of the compressed data; the chunk list stays
  // intact, so only the decoder can notice.
  for (std::size_t i = 60; i < png.size() - 40; ++i) png[i] = 0x55;
  std::string message = error_of([&] { decode_image(png, "bad.png"); });
  EXPECT_NE(message.find("bad.png: cannot decode"), std::string::npos)
      << message;
}

TEST(DecodeImage, RejectsJpegCutInHalf) {
  Bytes jpeg = encode(".jpg", pattern(64, 64));
  jpeg.resize(jpeg.size() / 2);
  std::string message = error_of([&] { decode_image(jpeg, "half.jpg"); });
  EXPECT_NE(message.find("half.jpg: truncated JPEG"), std::string::npos)
      << message;
}

TEST(DecodeImage, RejectsJpegWithoutEndMarker) {
  Bytes jpeg = encode(".jpg", pattern(64, 64));
  jpeg.resize(jpeg.size() - 2);  // only FF D9 missing
  std::string message = error_of([&] { decode_image(jpeg, "cut.jpg"); });
  EXPECT_NE(message.find("truncated JPEG"), std::string::npos) << message;
}

TEST(DecodeImage, RejectsPngWithoutIend) {
  Bytes png = encode(".png", pattern(16, 16));
  png.resize(png.size() - 12);  // the IEND chunk is the last 12 bytes
  std::string message = error_of([&] { decode_image(png, "cut.png"); });
  EXPECT_NE(message.find("cut.png: truncated PNG"), std::string::npos)
      << message;
}

TEST(DecodeImage, RefusesImagesOverMaxPixels) {
  ImageReadOptions options;
  options.max_pixels = 5000;
  for (const std::string ext : {".png", ".jpg", ".bmp"}) {
    Bytes bytes = encode(ext, pattern(100, 100));
    std::string message =
        error_of([&] { decode_image(bytes, "big" + ext, options); });
    EXPECT_NE(message.find("100x100"), std::string::npos) << message;
    EXPECT_NE(message.find("5000"), std::string::npos) << message;
  }
  options.max_pixels = 10000;
  EXPECT_EQ(
      decode_image(encode(".png", pattern(100, 100)), "ok.png", options).size(),
      cv::Size(100, 100));
}

TEST(DecodeImage, RefusesHugePngFromItsHeader) {
  Bytes png = encode(".png", pattern(2, 2));
  // IHDR width and height, big-endian, at bytes 16 and 20: 100000 each.
  const std::uint8_t huge[4] = {0x00, 0x01, 0x86, 0xA0};
  std::copy(huge, huge + 4, png.begin() + 16);
  std::copy(huge, huge + 4, png.begin() + 20);
  std::string message = error_of([&] { decode_image(png, "huge.png"); });
  EXPECT_NE(message.find("100000x100000"), std::string::npos) << message;
}

TEST(DecodeImage, RefusesHugeJpegFromItsHeader) {
  Bytes jpeg = encode(".jpg", pattern(8, 8));
  std::size_t sof = sof_offset(jpeg);
  // SOF0: FF C0, length (2), precision (1), height (2), width (2).
  jpeg[sof + 5] = 0xEA;  // height 60000
  jpeg[sof + 6] = 0x60;
  jpeg[sof + 7] = 0xEA;  // width 60000
  jpeg[sof + 8] = 0x60;
  std::string message = error_of([&] { decode_image(jpeg, "huge.jpg"); });
  EXPECT_NE(message.find("60000x60000"), std::string::npos) << message;
}

TEST(ReadImage, ReadsAndNamesFiles) {
  testing::TempDir dir;
  write_bytes(dir / "empty.png", {});
  std::string empty = (dir / "empty.png").string();
  std::string message = error_of([&] { read_image(empty); });
  EXPECT_NE(message.find(empty + ": empty"), std::string::npos) << message;

  std::string missing = (dir / "missing.png").string();
  message = error_of([&] { read_image(missing); });
  EXPECT_NE(message.find(missing + ": no such file"), std::string::npos)
      << message;

  message = error_of([&] { read_image(dir.path().string()); });
  EXPECT_NE(message.find("not a regular file"), std::string::npos) << message;
}

TEST(ReadImage, ReadsGrayJpegFromSharedDataset) {
  std::filesystem::path path = testing::shared_dir() /
                               "datasets/magnetic_tile/train/good" /
                               "exp1_num_10181.jpg";
  cv::Mat rgb = read_image(path.string());
  ASSERT_EQ(rgb.type(), CV_8UC3);
  cv::Mat gray = cv::imread(path.string(), cv::IMREAD_GRAYSCALE);
  ASSERT_EQ(rgb.size(), gray.size());
  cv::Mat channels[3];
  cv::split(rgb, channels);
  for (const cv::Mat& channel : channels) {
    EXPECT_EQ(cv::norm(channel, gray, cv::NORM_INF), 0.0);
  }
}

TEST(ReadMask, ThresholdsAtHalfRange) {
  testing::TempDir dir;
  cv::Mat mask8 = (cv::Mat_<std::uint8_t>(1, 4) << 0, 127, 128, 255);
  write_bytes(dir / "m8.png", encode(".png", mask8));
  cv::Mat mask = read_mask((dir / "m8.png").string(), cv::Size(4, 1));
  ASSERT_EQ(mask.type(), CV_8UC1);
  cv::Mat expected = (cv::Mat_<std::uint8_t>(1, 4) << 0, 0, 1, 1);
  EXPECT_EQ(cv::norm(mask, expected, cv::NORM_INF), 0.0);

  cv::Mat mask16 = (cv::Mat_<std::uint16_t>(1, 4) << 0, 32767, 32768, 65535);
  write_bytes(dir / "m16.png", encode(".png", mask16));
  mask = read_mask((dir / "m16.png").string(), cv::Size(4, 1));
  ASSERT_EQ(mask.type(), CV_8UC1);
  EXPECT_EQ(cv::norm(mask, expected, cv::NORM_INF), 0.0);
}

TEST(ReadMask, RejectsSizeMismatch) {
  testing::TempDir dir;
  std::string path = (dir / "part_mask.png").string();
  write_bytes(path, encode(".png", cv::Mat(3, 4, CV_8UC1, cv::Scalar(0))));
  std::string message = error_of([&] { read_mask(path, cv::Size(5, 3)); });
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("4x3"), std::string::npos) << message;
  EXPECT_NE(message.find("5x3"), std::string::npos) << message;
}

TEST(HasImageExtension, KnowsCommonFormatsInAnyCase) {
  for (const char* name : {"a.png", "b.JPG", "c.JpEg", "d.bmp", "e.tif",
                           "f.TIFF", "g.webp", "h.pgm", "dir/i.ppm"}) {
    EXPECT_TRUE(has_image_extension(name)) << name;
  }
  for (const char* name : {"a.txt", "png", "b.png.bak", "c.", "mask.json"}) {
    EXPECT_FALSE(has_image_extension(name)) << name;
  }
}

}  // namespace
}  // namespace vigil
