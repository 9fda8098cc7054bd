// Trained models kept in ReductStore's vigil-models bucket: one entry per
// model name, one record per pushed version, the model file as the payload
// and its description as labels (see layout.h, ModelRecord).
//
//   vigil::storage::ReductClient client({.url = url, .api_token = token});
//   vigil::storage::ModelRecord model{.name = "tile", .version = "v1", ...};
//   vigil::storage::push_model(client, model, file_bytes);
//   for (const StoredModel& m : list_models(client, {.status = "candidate"}))
//     ...
//   StoredModel latest = find_model(client, "tile", {});
//   std::vector<std::uint8_t> bytes = read_model(client, latest);
//   promote_model(client, "tile", "v1");   // v1 production, others retired
//
// A version is pushed once: pushing a name and version that are already
// stored is an error. "Latest" is the version pushed last. Promoting an
// older version is how a bad model is rolled back.
//
// Errors: StorageError (reduct_client.h) when the server refuses or cannot
// be reached, its message naming the URL; vigil::Error naming the model for
// a version or name that is not there. Thread-safety: free functions
// without state; as safe as the client passed in.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vigil/storage/layout.h"
#include "vigil/storage/reduct_client.h"

namespace vigil::storage {

// The status labels promote_model() sets.
inline constexpr char kStatusCandidate[] = "candidate";
inline constexpr char kStatusProduction[] = "production";
inline constexpr char kStatusRetired[] = "retired";

// A model record as stored: its description and where it is.
struct StoredModel {
  ModelRecord model;
  std::string entry;               // entry_name(model.name)
  std::uint64_t timestamp_us = 0;  // when it was pushed
};

// Which models list_models() returns; an empty field matches anything.
struct ModelFilter {
  std::string name = {};
  std::string version = {};
  std::string status = {};
  std::string model_type = {};
};

// Stores `model_file` under model.name with model's labels, at the current
// time. Throws vigil::Error when that name and version are already stored
// (or when name or version is empty).
StoredModel push_model(ReductClient& client, const ModelRecord& model,
                       const std::vector<std::uint8_t>& model_file);

// The stored models that match `filter`, by name, then in the order they
// were pushed; no payloads are read. Empty when the bucket does not exist.
std::vector<StoredModel> list_models(ReductClient& client,
                                     const ModelFilter& filter);

// The one model named `name` with `version`, or the one pushed last when
// version is empty. Throws vigil::Error naming the model when there is
// none.
StoredModel find_model(ReductClient& client, const std::string& name,
                       const std::string& version);

// The model file's bytes, exactly as pushed.
std::vector<std::uint8_t> read_model(ReductClient& client,
                                     const StoredModel& model);

// Sets status "production" on `name` at `version` and "retired" on every
// other version of `name` that was in production. The new one is promoted
// first, so a failure half way leaves two in production, never none.
// Returns the versions retired.
std::vector<std::string> promote_model(ReductClient& client,
                                       const std::string& name,
                                       const std::string& version);

}  // namespace vigil::storage
