// Named tensors and string metadata in one file, in the safetensors format
// (8-byte little-endian header length, a JSON header, then raw little-endian
// data), so that Python can read a vigil model with no vigil code.
//
//   vigil::TensorFile f;
//   f.metadata["vigil"] = config.dump();
//   f.put("memory_bank", {n, d}, bank.data());   // copies n*d floats
//   f.save("model.vigil");
//   vigil::TensorFile g = vigil::TensorFile::load("model.vigil");
//   const float* bank = g.f32("memory_bank", {n, d});
//
// Not thread-safe for concurrent writes; concurrent reads are fine.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace vigil {

struct Tensor {
  std::string dtype;  // "F32", "I64" or "U8"
  std::vector<std::int64_t> shape;
  std::vector<std::uint8_t> bytes;  // row-major, little-endian
};

class TensorFile {
 public:
  std::map<std::string, std::string> metadata;
  std::map<std::string, Tensor> tensors;

  void put(const std::string& name, const std::vector<std::int64_t>& shape,
           const float* data);
  void put(const std::string& name, const std::vector<std::int64_t>& shape,
           const std::int64_t* data);
  void put_bytes(const std::string& name, std::vector<std::uint8_t> bytes);

  // Typed views. Throw vigil::Error naming the tensor when it is missing,
  // has another dtype, or (when `shape` is given) another shape.
  const float* f32(const std::string& name,
                   const std::vector<std::int64_t>& shape = {}) const;
  const std::int64_t* i64(const std::string& name,
                          const std::vector<std::int64_t>& shape = {}) const;
  const Tensor& get(const std::string& name) const;
  bool has(const std::string& name) const { return tensors.count(name) > 0; }

  // Throws vigil::Error naming the file on I/O failure. save() writes to a
  // temporary file and renames it, so a crash never leaves half a model,
  // and records the SHA-256 of the data in the metadata
  // ("vigil_data_sha256").
  void save(const std::string& path) const;
  // Throws vigil::Error naming the file when it is missing, truncated, not
  // a safetensors file, its data differs from the recorded SHA-256 (files
  // without one, e.g. from Python's safetensors, are not checked), or a
  // float tensor holds NaN or infinity. The checksum is not kept in
  // `metadata`.
  static TensorFile load(const std::string& path);
};

}  // namespace vigil
