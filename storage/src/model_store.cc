#include "vigil/storage/model_store.h"

#include <chrono>

#include <nlohmann/json.hpp>

namespace vigil::storage {
namespace {

using nlohmann::json;

std::uint64_t now_us() {
  auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return std::uint64_t(
      std::chrono::duration_cast<std::chrono::microseconds>(since_epoch)
          .count());
}

std::string describe(const std::string& name, const std::string& version) {
  return "model " + name + (version.empty() ? "" : " version " + version);
}

// The filter's label conditions as a ReductStore `when`; null for none.
json when_of(const ModelFilter& filter) {
  json conditions = json::array();
  auto add = [&](const char* label, const std::string& value) {
    if (!value.empty()) {
      conditions.push_back({{std::string("&") + label, {{"$eq", value}}}});
    }
  };
  add("name", filter.name);
  add("version", filter.version);
  add("status", filter.status);
  add("model_type", filter.model_type);
  if (conditions.empty()) return nullptr;
  if (conditions.size() == 1) return conditions[0];
  return {{"$and", conditions}};
}

// The entries of the models bucket; none when it does not exist yet.
std::vector<std::string> model_entries(ReductClient& client) {
  std::vector<std::string> names;
  try {
    for (const EntryInfo& entry : client.get_bucket(kModelsBucket).entries) {
      names.push_back(entry.name);
    }
  } catch (const StorageError& error) {
    if (error.status() != 404) throw;
  }
  return names;
}

void append_matches(ReductClient& client, const std::string& entry,
                    const ModelFilter& filter,
                    std::vector<StoredModel>* models) {
  QueryOptions options;
  options.when = when_of(filter);
  options.metadata_only = true;
  std::vector<Record> records;
  try {
    records = client.query(kModelsBucket, entry, options);
  } catch (const StorageError& error) {
    if (error.status() != 404) throw;  // 404: entry removed meanwhile
  }
  for (const Record& record : records) {
    models->push_back(
        {parse_model_labels(record.labels), entry, record.timestamp_us});
  }
}

}  // namespace

StoredModel push_model(ReductClient& client, const ModelRecord& model,
                       const std::vector<std::uint8_t>& model_file) {
  if (model.name.empty() || model.version.empty()) {
    throw Error(describe(model.name, model.version),
                "a model needs a name and a version to be pushed");
  }
  // This bucket alone: creating the frame buckets here would fix their
  // quotas before `vigil serve` could set its own.
  BucketSettings no_quota;
  no_quota.quota_type = QuotaType::kNone;
  client.create_bucket(kModelsBucket, no_quota, /*exist_ok=*/true);
  ModelFilter same{.name = model.name, .version = model.version};
  if (!list_models(client, same).empty()) {
    throw Error(describe(model.name, model.version),
                "already stored in " + client.options().url);
  }
  StoredModel stored{model, entry_name(model.name), now_us()};
  store_model(client, stored.timestamp_us, model, model_file);
  return stored;
}

std::vector<StoredModel> list_models(ReductClient& client,
                                     const ModelFilter& filter) {
  std::vector<StoredModel> models;
  for (const std::string& entry : model_entries(client)) {
    if (!filter.name.empty() && entry != entry_name(filter.name)) continue;
    append_matches(client, entry, filter, &models);
  }
  return models;
}

StoredModel find_model(ReductClient& client, const std::string& name,
                       const std::string& version) {
  std::vector<StoredModel> found =
      list_models(client, {.name = name, .version = version});
  if (found.empty()) {
    throw Error(describe(name, version),
                "not found in " + client.options().url + "/" + kModelsBucket);
  }
  return found.back();  // in push order: the last is the latest
}

std::vector<std::uint8_t> read_model(ReductClient& client,
                                     const StoredModel& model) {
  return client.read_record(kModelsBucket, model.entry, model.timestamp_us)
      .data;
}

std::vector<std::string> promote_model(ReductClient& client,
                                       const std::string& name,
                                       const std::string& version) {
  if (version.empty()) throw Error(describe(name, ""), "no version given");
  StoredModel chosen = find_model(client, name, version);
  client.update_labels(kModelsBucket, chosen.entry, chosen.timestamp_us,
                       {{"status", kStatusProduction}});

  std::vector<std::string> retired;
  ModelFilter in_production{.name = name, .status = kStatusProduction};
  for (const StoredModel& other : list_models(client, in_production)) {
    if (other.timestamp_us == chosen.timestamp_us) continue;
    client.update_labels(kModelsBucket, other.entry, other.timestamp_us,
                         {{"status", kStatusRetired}});
    retired.push_back(other.model.version);
  }
  return retired;
}

}  // namespace vigil::storage
