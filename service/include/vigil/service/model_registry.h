// Trained model files in and out of the store: `vigil model push` reads the
// description the file carries (name, version, type, backbone SHA-256,
// validation metrics) and stores the file with it as labels; `pull` writes
// a stored version back to a file. The store side is
// vigil/storage/model_store.h.
//
//   storage::ReductClient client({.url = url, .api_token = token});
//   storage::StoredModel pushed = push_model_file(client, "tile.vigil", {});
//   pull_model_file(client, "tile", "", "copy.vigil");   // the latest
//
// Errors: vigil::Error naming the file when it is missing or not a vigil
// model (an ONNX export carries no such description); StorageError naming
// the URL from the server. Thread-safety: stateless; as safe as the client.
#pragma once

#include <string>

#include "vigil/storage/model_store.h"
#include "vigil/storage/reduct_client.h"

namespace vigil::service {

// Values that replace what the file says; empty fields keep the file's.
struct ModelOverrides {
  std::string name = {};
  std::string version = {};
  std::string status = {};  // default: candidate
};

// The labels a model file is stored with, read from its own header.
storage::ModelRecord describe_model_file(const std::string& path);

// Pushes the file at `path` (see storage::push_model).
storage::StoredModel push_model_file(storage::ReductClient& client,
                                     const std::string& path,
                                     const ModelOverrides& overrides);

// Writes model `name` at `version` (empty: the latest pushed) to
// `output_path`, through a temporary file renamed into place. Returns what
// was pulled.
storage::StoredModel pull_model_file(storage::ReductClient& client,
                                     const std::string& name,
                                     const std::string& version,
                                     const std::string& output_path);

}  // namespace vigil::service
