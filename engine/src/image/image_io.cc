#include "vigil/image_io.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <fstream>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "image/image_header.h"
#include "vigil/error.h"

namespace vigil {
namespace {

namespace fs = std::filesystem;

std::string size_text(cv::Size size) {
  return std::to_string(size.width) + "x" + std::to_string(size.height);
}

void check_pixel_count(cv::Size size, const std::string& name,
                       const ImageReadOptions& options) {
  std::int64_t pixels = std::int64_t(size.width) * size.height;
  if (pixels > options.max_pixels) {
    throw Error(name, "image is " + size_text(size) + " px (" +
                          std::to_string(pixels) +
                          " pixels), more than the limit of " +
                          std::to_string(options.max_pixels) + " pixels");
  }
}

// Checks what can be checked without decoding (empty, truncated, too large
// by its header), then decodes with OpenCV, which may still throw on
// corrupt data.
cv::Mat checked_decode(const std::vector<std::uint8_t>& bytes,
                       const std::string& name, int flags,
                       const ImageReadOptions& options) {
  if (bytes.empty()) throw Error(name, "empty file");
  image_detail::HeaderInfo header =
      image_detail::inspect_header(bytes.data(), bytes.size(), name);
  if (!header.size.empty()) check_pixel_count(header.size, name, options);

  cv::Mat decoded;
  try {
    const cv::Mat encoded(1, int(bytes.size()), CV_8UC1,
                          const_cast<std::uint8_t*>(bytes.data()));
    decoded = cv::imdecode(encoded, flags);
  } catch (const cv::Exception& e) {
    throw Error(name, "cannot decode image: " + e.err);
  }
  if (decoded.empty()) {
    throw Error(name, "cannot decode image (unknown format or corrupt data)");
  }
  check_pixel_count(decoded.size(), name, options);
  return decoded;
}

// 65535 / 257 == 255 exactly, so the full 16-bit range maps onto 0..255.
cv::Mat to_8bit(const cv::Mat& image, const std::string& name) {
  if (image.depth() == CV_8U) return image;
  if (image.depth() != CV_16U) {
    throw Error(name, "unsupported sample type (only 8 and 16 bit images)");
  }
  cv::Mat out;
  image.convertTo(out, CV_8U, 1.0 / 257.0);
  return out;
}

cv::Mat to_rgb(const cv::Mat& image, const std::string& name) {
  cv::Mat rgb;
  switch (image.channels()) {
    case 1:
      cv::cvtColor(image, rgb, cv::COLOR_GRAY2RGB);
      return rgb;
    case 3:
      cv::cvtColor(image, rgb, cv::COLOR_BGR2RGB);
      return rgb;
    case 4:
      cv::cvtColor(image, rgb, cv::COLOR_BGRA2RGB);
      return rgb;
    default:
      throw Error(name, "unsupported number of channels: " +
                            std::to_string(image.channels()));
  }
}

}  // namespace

// ANYCOLOR keeps gray as one channel and drops alpha; unlike UNCHANGED it
// also applies the EXIF orientation, so pixels match what viewers show.
cv::Mat decode_image(const std::vector<std::uint8_t>& bytes,
                     const std::string& name, const ImageReadOptions& options) {
  cv::Mat decoded = checked_decode(
      bytes, name, cv::IMREAD_ANYCOLOR | cv::IMREAD_ANYDEPTH, options);
  return to_rgb(to_8bit(decoded, name), name);
}

cv::Mat read_image(const std::string& path, const ImageReadOptions& options) {
  return decode_image(read_file_bytes(path), path, options);
}

cv::Mat read_mask(const std::string& path, cv::Size expected_size) {
  cv::Mat gray = checked_decode(read_file_bytes(path), path,
                                cv::IMREAD_GRAYSCALE | cv::IMREAD_ANYDEPTH,
                                ImageReadOptions{});
  if (gray.size() != expected_size) {
    throw Error(path, "mask is " + size_text(gray.size()) +
                          " px but its image is " + size_text(expected_size) +
                          " px");
  }
  if (gray.depth() != CV_8U && gray.depth() != CV_16U) {
    throw Error(path, "unsupported mask sample type (only 8 and 16 bit)");
  }

  double half_range = gray.depth() == CV_8U ? 127.5 : 32767.5;
  cv::Mat mask;
  cv::threshold(gray, mask, half_range, 1.0, cv::THRESH_BINARY);
  mask.convertTo(mask, CV_8U);
  return mask;
}

std::vector<std::uint8_t> read_file_bytes(const std::string& path) {
  std::error_code error;
  fs::file_status status = fs::status(path, error);
  if (!fs::exists(status)) throw Error(path, "no such file");
  if (!fs::is_regular_file(status)) throw Error(path, "not a regular file");

  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw Error(path, "cannot open file for reading");
  std::streamoff size = in.tellg();
  std::vector<std::uint8_t> bytes(
      std::size_t(std::max<std::streamoff>(0, size)));
  in.seekg(0);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), size)) {
    throw Error(path, "read error");
  }
  return bytes;
}

bool has_image_extension(const std::string& path) {
  static const std::array<const char*, 9> kExtensions = {
      ".png",  ".jpg",  ".jpeg", ".bmp", ".tif",
      ".tiff", ".webp", ".pgm",  ".ppm"};
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  return std::find(kExtensions.begin(), kExtensions.end(), ext) !=
         kExtensions.end();
}

}  // namespace vigil
