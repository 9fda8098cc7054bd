// Writing float32 arrays as NumPy .npy files (format version 1.0), so the
// Python parity tool reads the native outputs with numpy.load.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace vigil::testing {

// data: the product of `shape` floats, row-major (C order).
inline void write_npy(const std::filesystem::path& path,
                      const std::vector<std::int64_t>& shape,
                      const float* data) {
  std::string dims;
  std::size_t count = 1;
  for (std::int64_t d : shape) {
    dims += std::to_string(d) + ", ";
    count *= static_cast<std::size_t>(d);
  }
  std::string header =
      "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  // The magic, version and length take 10 bytes; the whole header ends in a
  // newline at a multiple of 64 bytes.
  header.append(63 - (10 + header.size()) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  out.write("\x93NUMPY\x01\x00", 8);
  const std::uint16_t length = static_cast<std::uint16_t>(header.size());
  const char bytes[2] = {char(length & 0xff), char(length >> 8)};
  out.write(bytes, 2);
  out.write(header.data(), std::streamsize(header.size()));
  out.write(reinterpret_cast<const char*>(data),
            std::streamsize(count * sizeof(float)));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace vigil::testing
