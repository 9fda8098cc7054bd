#include "vigil/tensor_file.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "common/sha256.h"
#include "vigil/error.h"

namespace vigil {
namespace {

// The metadata key under which save() records the SHA-256 of the data
// section, so that load() finds a file corrupted after it was written.
constexpr const char* kDataChecksum = "vigil_data_sha256";

std::string data_checksum(const std::map<std::string, Tensor>& tensors) {
  Sha256 h;
  for (const auto& [name, t] : tensors) h.add(t.bytes.data(), t.bytes.size());
  return h.hex();
}

// A float that is NaN or infinite in a model is corruption, and would make
// every score NaN: a verdict of "normal" that nothing flags.
void check_finite(const std::string& path, const std::string& name,
                  const Tensor& t) {
  if (t.dtype != "F32") return;
  const std::size_t n = t.bytes.size() / sizeof(float);
  for (std::size_t i = 0; i < n; ++i) {
    float v;
    std::memcpy(&v, t.bytes.data() + i * sizeof(float), sizeof(float));
    if (!std::isfinite(v)) {
      throw Error(path,
                  "tensor '" + name + "' holds NaN or infinity (corrupt file)");
    }
  }
}

std::size_t element_size(const std::string& dtype) {
  if (dtype == "F32") return 4;
  if (dtype == "I64") return 8;
  if (dtype == "U8") return 1;
  return 0;
}

std::int64_t element_count(const std::vector<std::int64_t>& shape) {
  std::int64_t count = 1;
  for (std::int64_t d : shape) count *= d;
  return count;
}

template <typename T>
Tensor make_tensor(const std::string& dtype,
                   const std::vector<std::int64_t>& shape, const T* data) {
  Tensor t{dtype, shape, {}};
  t.bytes.resize(element_count(shape) * sizeof(T));
  if (!t.bytes.empty()) std::memcpy(t.bytes.data(), data, t.bytes.size());
  return t;
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    text += (i ? "," : "") + std::to_string(shape[i]);
  }
  return text + "]";
}

const Tensor& checked(const TensorFile& file, const std::string& name,
                      const std::string& dtype,
                      const std::vector<std::int64_t>& shape) {
  const Tensor& t = file.get(name);
  if (t.dtype != dtype) {
    throw Error("tensor '" + name + "'", "is " + t.dtype + ", not " + dtype);
  }
  if (!shape.empty() && t.shape != shape) {
    throw Error("tensor '" + name + "'", "has shape " + shape_text(t.shape) +
                                             ", expected " + shape_text(shape));
  }
  return t;
}

nlohmann::json header_json(const TensorFile& file, std::uint64_t* data_size) {
  nlohmann::json header = nlohmann::json::object();
  std::map<std::string, std::string> metadata = file.metadata;
  metadata[kDataChecksum] = data_checksum(file.tensors);
  header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  for (const auto& [name, t] : file.tensors) {
    header[name] = {{"dtype", t.dtype},
                    {"shape", t.shape},
                    {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  *data_size = offset;
  return header;
}

Tensor parse_tensor(const std::string& path, const std::string& name,
                    const nlohmann::json& entry, const std::uint8_t* data,
                    std::uint64_t data_size) {
  Tensor t;
  t.dtype = entry.at("dtype").get<std::string>();
  t.shape = entry.at("shape").get<std::vector<std::int64_t>>();
  auto offsets = entry.at("data_offsets").get<std::vector<std::uint64_t>>();
  std::size_t size = element_size(t.dtype);
  if (size == 0) {
    throw Error(path, "tensor '" + name + "' has unsupported dtype " + t.dtype);
  }
  if (offsets.size() != 2 || offsets[1] < offsets[0] ||
      offsets[1] > data_size ||
      offsets[1] - offsets[0] != element_count(t.shape) * size) {
    throw Error(path, "tensor '" + name + "' has bad offsets (truncated?)");
  }
  t.bytes.assign(data + offsets[0], data + offsets[1]);
  return t;
}

}  // namespace

void TensorFile::put(const std::string& name,
                     const std::vector<std::int64_t>& shape,
                     const float* data) {
  tensors[name] = make_tensor("F32", shape, data);
}

void TensorFile::put(const std::string& name,
                     const std::vector<std::int64_t>& shape,
                     const std::int64_t* data) {
  tensors[name] = make_tensor("I64", shape, data);
}

void TensorFile::put_bytes(const std::string& name,
                           std::vector<std::uint8_t> bytes) {
  Tensor t{"U8", {static_cast<std::int64_t>(bytes.size())}, std::move(bytes)};
  tensors[name] = std::move(t);
}

const Tensor& TensorFile::get(const std::string& name) const {
  auto it = tensors.find(name);
  if (it == tensors.end()) throw Error("tensor '" + name + "'", "missing");
  return it->second;
}

const float* TensorFile::f32(const std::string& name,
                             const std::vector<std::int64_t>& shape) const {
  const Tensor& t = checked(*this, name, "F32", shape);
  return reinterpret_cast<const float*>(t.bytes.data());
}

const std::int64_t* TensorFile::i64(
    const std::string& name, const std::vector<std::int64_t>& shape) const {
  const Tensor& t = checked(*this, name, "I64", shape);
  return reinterpret_cast<const std::int64_t*>(t.bytes.data());
}

void TensorFile::save(const std::string& path) const {
  std::uint64_t data_size = 0;
  std::string header = header_json(*this, &data_size).dump();
  header.append((8 - header.size() % 8) % 8, ' ');
  std::uint64_t header_size = header.size();

  std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(path, "cannot open for writing");
    out.write(reinterpret_cast<const char*>(&header_size), 8);
    out.write(header.data(), header.size());
    for (const auto& [name, t] : tensors) {
      out.write(reinterpret_cast<const char*>(t.bytes.data()), t.bytes.size());
    }
    if (!out.flush()) throw Error(path, "write failed (disk full?)");
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) throw Error(path, "cannot replace file: " + error.message());
}

TensorFile TensorFile::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path, "cannot open (missing or unreadable)");
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
  std::uint64_t header_size = 0;
  if (bytes.size() < 8) throw Error(path, "not a vigil model (too short)");
  std::memcpy(&header_size, bytes.data(), 8);
  if (header_size > bytes.size() - 8) {
    throw Error(path, "not a vigil model (bad header, or truncated)");
  }
  nlohmann::json header = nlohmann::json::parse(
      bytes.begin() + 8, bytes.begin() + 8 + header_size, nullptr, false);
  if (header.is_discarded() || !header.is_object()) {
    throw Error(path, "not a vigil model (header is not JSON)");
  }
  const std::uint8_t* data = bytes.data() + 8 + header_size;
  std::uint64_t data_size = bytes.size() - 8 - header_size;

  TensorFile file;
  try {
    for (const auto& [name, entry] : header.items()) {
      if (name == "__metadata__") {
        file.metadata = entry.get<std::map<std::string, std::string>>();
      } else {
        file.tensors[name] = parse_tensor(path, name, entry, data, data_size);
      }
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(path, std::string("bad header: ") + e.what());
  }
  // Files written elsewhere (safetensors' save_file) carry no checksum.
  auto checksum = file.metadata.find(kDataChecksum);
  if (checksum != file.metadata.end()) {
    if (checksum->second != data_checksum(file.tensors)) {
      throw Error(path,
                  "data does not match the checksum written with it "
                  "(corrupt or altered file)");
    }
    file.metadata.erase(checksum);
  }
  for (const auto& [name, t] : file.tensors) check_finite(path, name, t);
  return file;
}

}  // namespace vigil
