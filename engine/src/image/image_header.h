// Reading an encoded image's container without decoding its pixels: the
// format, the dimensions, and whether the file ends where it should. Used to
// refuse truncated and oversized images before OpenCV allocates anything.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <opencv2/core.hpp>

namespace vigil::image_detail {

enum class Format { kUnknown, kPng, kJpeg, kBmp };

struct HeaderInfo {
  Format format = Format::kUnknown;
  // Width x height from the header; empty when the header does not say
  // (unknown format, or a JPEG that defers its height to a DNL marker).
  cv::Size size;
};

// Inspects `n` bytes of an encoded image. Throws vigil::Error(name, cause)
// for a PNG or JPEG that is truncated (no IEND chunk, no end-of-image
// marker) or whose header is malformed. Other formats are not checked.
HeaderInfo inspect_header(const std::uint8_t* data, std::size_t n,
                          const std::string& name);

}  // namespace vigil::image_detail
