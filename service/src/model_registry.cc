#include "vigil/service/model_registry.h"

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "vigil/error.h"
#include "vigil/image_io.h"
#include "vigil/tensor_file.h"

namespace vigil::service {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json header_of(const std::string& path) {
  TensorFile file = TensorFile::load(path);
  auto it = file.metadata.find("vigil");
  if (it == file.metadata.end()) {
    throw Error(path, "a safetensors file, but not a vigil model");
  }
  try {
    return json::parse(it->second);
  } catch (const json::exception& e) {
    throw Error(path, std::string("bad model header: ") + e.what());
  }
}

// Through "<path>.part", so that a failure never leaves half a model
// under the name asked for.
void write_file_atomically(const std::string& path,
                           const std::vector<std::uint8_t>& data) {
  const fs::path temporary = path + ".part";
  std::ofstream file(temporary, std::ios::binary | std::ios::trunc);
  file.write(reinterpret_cast<const char*>(data.data()),
             std::streamsize(data.size()));
  file.close();
  std::error_code error;
  if (file) fs::rename(temporary, path, error);
  if (!file || error) {
    fs::remove(temporary, error);
    throw Error(path, "cannot write");
  }
}

}  // namespace

storage::ModelRecord describe_model_file(const std::string& path) {
  json header = header_of(path);
  storage::ModelRecord model;
  try {
    model.name = header.value("name", "");
    model.version = header.value("version", "");
    model.model_type = header.at("type").get<std::string>();
    model.backbone_sha256 = header.at("backbone").value("sha256", "");
    model.metrics = header.value("metrics", json::object());
  } catch (const json::exception& e) {
    throw Error(path, std::string("bad model header: ") + e.what());
  }
  if (model.name.empty()) model.name = fs::path(path).stem().string();
  return model;
}

storage::StoredModel push_model_file(storage::ReductClient& client,
                                     const std::string& path,
                                     const ModelOverrides& overrides) {
  storage::ModelRecord model = describe_model_file(path);
  if (!overrides.name.empty()) model.name = overrides.name;
  if (!overrides.version.empty()) model.version = overrides.version;
  if (!overrides.status.empty()) model.status = overrides.status;
  if (model.version.empty()) {
    throw Error(path, "the model has no version; give one (--version)");
  }
  return storage::push_model(client, model, read_file_bytes(path));
}

storage::StoredModel pull_model_file(storage::ReductClient& client,
                                     const std::string& name,
                                     const std::string& version,
                                     const std::string& output_path) {
  storage::StoredModel model = storage::find_model(client, name, version);
  write_file_atomically(output_path, storage::read_model(client, model));
  return model;
}

}  // namespace vigil::service
