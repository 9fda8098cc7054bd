#include "image/image_header.h"

#include <cstring>

#include "vigil/error.h"

namespace vigil::image_detail {
namespace {

constexpr std::uint8_t kPngSignature[8] = {0x89, 'P',  'N',  'G',
                                           0x0D, 0x0A, 0x1A, 0x0A};

// A read-only view of the bytes with the error paths every parser shares.
class Reader {
 public:
  Reader(const std::uint8_t* data, std::size_t n, const std::string& name)
      : data_(data), n_(n), name_(name) {}

  std::size_t size() const { return n_; }
  std::uint8_t at(std::size_t pos) const { return data_[pos]; }

  // Throws "truncated" unless [pos, pos + count) lies inside the bytes.
  void need(std::size_t pos, std::size_t count, const char* format) const {
    if (pos > n_ || count > n_ - pos) {
      throw Error(name_, std::string("truncated ") + format +
                             " file (it ends in the middle of the data)");
    }
  }

  [[noreturn]] void corrupt(const std::string& cause) const {
    throw Error(name_, "corrupt image: " + cause);
  }

  std::uint32_t be16(std::size_t pos) const {
    return (std::uint32_t(data_[pos]) << 8) | data_[pos + 1];
  }
  std::uint32_t be32(std::size_t pos) const {
    return (be16(pos) << 16) | be16(pos + 2);
  }
  std::uint32_t le16(std::size_t pos) const {
    return (std::uint32_t(data_[pos + 1]) << 8) | data_[pos];
  }
  std::uint32_t le32(std::size_t pos) const {
    return (le16(pos + 2) << 16) | le16(pos);
  }

 private:
  const std::uint8_t* data_;
  std::size_t n_;
  const std::string& name_;
};

bool is_png(const Reader& r) {
  if (r.size() < sizeof(kPngSignature)) return false;
  for (std::size_t i = 0; i < sizeof(kPngSignature); ++i) {
    if (r.at(i) != kPngSignature[i]) return false;
  }
  return true;
}

bool is_jpeg(const Reader& r) {
  return r.size() >= 3 && r.at(0) == 0xFF && r.at(1) == 0xD8 && r.at(2) == 0xFF;
}

bool is_bmp(const Reader& r) {
  return r.size() >= 2 && r.at(0) == 'B' && r.at(1) == 'M';
}

// Walks the chunk list: IHDR first (the size), IEND last (else truncated).
cv::Size inspect_png(const Reader& r) {
  cv::Size size;
  std::size_t pos = sizeof(kPngSignature);
  for (bool first = true;; first = false) {
    r.need(pos, 8, "PNG");
    std::uint32_t length = r.be32(pos);
    if (length > 0x7FFFFFFFu) r.corrupt("PNG chunk length out of range");
    char type[5] = {};
    for (int i = 0; i < 4; ++i) type[i] = char(r.at(pos + 4 + i));
    if (first) {
      if (std::strcmp(type, "IHDR") != 0 || length != 13) {
        r.corrupt("PNG does not start with an IHDR chunk");
      }
      r.need(pos + 8, 8, "PNG");
      size = cv::Size(int(r.be32(pos + 8) & 0x7FFFFFFF),
                      int(r.be32(pos + 12) & 0x7FFFFFFF));
    }
    r.need(pos + 8, std::size_t(length) + 4, "PNG");
    if (std::strcmp(type, "IEND") == 0) return size;
    pos += 12 + std::size_t(length);
  }
}

bool is_sof_marker(std::uint8_t marker) {
  return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 &&
         marker != 0xCC;
}

// The entropy-coded data after the first start-of-scan marker cannot hold
// FF D9 (a data FF is always followed by 00 or a restart marker), so the
// end-of-image marker must follow it. Segments before it are skipped by
// their length, which also skips an EXIF thumbnail's own FF D9.
void require_jpeg_end(const Reader& r, std::size_t scan_start) {
  for (std::size_t pos = scan_start; pos + 1 < r.size(); ++pos) {
    if (r.at(pos) == 0xFF && r.at(pos + 1) == 0xD9) return;
  }
  r.need(r.size(), 1, "JPEG");
}

cv::Size inspect_jpeg(const Reader& r) {
  cv::Size size;
  std::size_t pos = 2;
  while (true) {
    r.need(pos, 2, "JPEG");
    if (r.at(pos) != 0xFF) r.corrupt("JPEG segment does not start with FF");
    while (r.at(pos) == 0xFF) {
      ++pos;
      r.need(pos, 1, "JPEG");
    }
    std::uint8_t marker = r.at(pos++);
    if ((marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) continue;
    if (marker == 0xD9) r.corrupt("JPEG ends before its image data");
    r.need(pos, 2, "JPEG");
    std::size_t length = r.be16(pos);
    if (length < 2) r.corrupt("JPEG segment length out of range");
    r.need(pos, length, "JPEG");
    if (is_sof_marker(marker) && length >= 7) {
      size = cv::Size(int(r.be16(pos + 5)), int(r.be16(pos + 3)));
    }
    if (marker == 0xDA) {
      require_jpeg_end(r, pos + length);
      return size;
    }
    pos += length;
  }
}

// BITMAPINFOHEADER and later hold signed 32-bit sizes (a negative height
// means top-down rows); the old OS/2 core header holds unsigned 16-bit ones.
cv::Size inspect_bmp(const Reader& r) {
  r.need(0, 18, "BMP");
  std::uint32_t header_size = r.le32(14);
  if (header_size == 12) {
    r.need(18, 4, "BMP");
    return cv::Size(int(r.le16(18)), int(r.le16(20)));
  }
  r.need(18, 8, "BMP");
  auto width = std::int64_t(std::int32_t(r.le32(18)));
  auto height = std::int64_t(std::int32_t(r.le32(22)));
  if (width < 0) r.corrupt("BMP with a negative width");
  if (height < 0) height = -height;
  if (width > 0x7FFFFFFF || height > 0x7FFFFFFF) {
    r.corrupt("BMP dimensions out of range");
  }
  return cv::Size(int(width), int(height));
}

}  // namespace

HeaderInfo inspect_header(const std::uint8_t* data, std::size_t n,
                          const std::string& name) {
  Reader r(data, n, name);
  HeaderInfo info;
  if (is_png(r)) {
    info.format = Format::kPng;
    info.size = inspect_png(r);
  } else if (is_jpeg(r)) {
    info.format = Format::kJpeg;
    info.size = inspect_jpeg(r);
  } else if (is_bmp(r)) {
    info.format = Format::kBmp;
    info.size = inspect_bmp(r);
  }
  bool header_says_size = info.format == Format::kPng ||
                          info.format == Format::kBmp || info.size.height > 0;
  if (header_says_size && (info.size.width <= 0 || info.size.height <= 0)) {
    r.corrupt("the header gives a zero width or height");
  }
  return info;
}

}  // namespace vigil::image_detail
