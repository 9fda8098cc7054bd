// Reading images and masks from disk, with a clear error for bad input.
//
//   vigil::ImageReadOptions options;
//   cv::Mat rgb = vigil::read_image("part_017.jpg", options);  // CV_8UC3 RGB
//   cv::Mat mask = vigil::read_mask("part_017_mask.png", rgb.size());
//
// Any format OpenCV decodes (PNG, JPEG, BMP, TIFF, ...), 8 or 16 bit, gray,
// RGB or RGBA. Functions are thread-safe; they keep no state.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace vigil {

struct ImageReadOptions {
  // Images with more pixels than this are refused before they fill memory.
  // Default 64 megapixels: four times a 4K frame.
  std::int64_t max_pixels = 64LL * 1024 * 1024;
};

// Decodes an encoded image (the bytes of a file or an upload) into an 8-bit,
// 3-channel RGB matrix. 16-bit input is scaled to 8 bit, gray is replicated
// to three channels, alpha is dropped. `name` is used in error messages.
// Throws vigil::Error naming `name` and the cause: empty input, an unknown or
// corrupt format, a truncated JPEG or PNG, a too-large image.
cv::Mat decode_image(const std::vector<std::uint8_t>& bytes,
                     const std::string& name,
                     const ImageReadOptions& options = {});

// Reads and decodes the file at `path` (see decode_image).
cv::Mat read_image(const std::string& path,
                   const ImageReadOptions& options = {});

// Reads a white-on-black defect mask: returns CV_8UC1 with 1 where the mask
// is brighter than half its range, else 0. Throws vigil::Error if the file
// cannot be read or its size differs from `expected_size` (no silent
// resize).
cv::Mat read_mask(const std::string& path, cv::Size expected_size);

// Reads a whole file. Throws vigil::Error naming the file on failure.
std::vector<std::uint8_t> read_file_bytes(const std::string& path);

// True for file names OpenCV can decode, judged by extension.
bool has_image_extension(const std::string& path);

}  // namespace vigil
