// vigil model push|list|pull|promote: trained models kept in ReductStore
// (service/include/vigil/service/model_registry.h and
// storage/include/vigil/storage/model_store.h do the work).
#ifdef VIGIL_HAVE_SERVICE
#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "reduct_flags.h"
#include "vigil/service/model_registry.h"
#include "vigil/storage/model_store.h"

namespace vigil::cli {
namespace {

struct ModelFlags {
  ReductFlags reduct;
  std::string file;        // push: the model file; pull: where to write it
  std::string name;        // pull/promote: which model; push: overrides
  std::string version;     // pull/promote: which version; push: overrides
  std::string status;      // push: instead of candidate; list: filter
  std::string model_type;  // list: filter
  bool json = false;       // list: JSON instead of a table
};

// "2026-12-03T14:07:00Z" from microseconds since the epoch.
std::string utc_text(std::uint64_t timestamp_us) {
  std::time_t seconds = std::time_t(timestamp_us / 1000000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

nlohmann::json to_json(const storage::StoredModel& stored) {
  const storage::ModelRecord& m = stored.model;
  return {{"name", m.name},
          {"version", m.version},
          {"model_type", m.model_type},
          {"status", m.status},
          {"backbone_sha256", m.backbone_sha256},
          {"metrics", m.metrics},
          {"pushed_at", utc_text(stored.timestamp_us)},
          {"timestamp_us", stored.timestamp_us}};
}

std::string metrics_text(const nlohmann::json& metrics) {
  std::string text;
  for (const auto& [key, value] : metrics.items()) {
    char number[32];
    std::snprintf(number, sizeof(number), "%.4g", value.get<double>());
    text += (text.empty() ? "" : " ") + key + "=" + number;
  }
  return text;
}

void print_table(const std::vector<storage::StoredModel>& models) {
  std::printf("%-20s %-22s %-10s %-11s %-20s %s\n", "NAME", "VERSION", "TYPE",
              "STATUS", "PUSHED", "METRICS");
  for (const storage::StoredModel& stored : models) {
    const storage::ModelRecord& m = stored.model;
    std::printf("%-20s %-22s %-10s %-11s %-20s %s\n", m.name.c_str(),
                m.version.c_str(), m.model_type.c_str(), m.status.c_str(),
                utc_text(stored.timestamp_us).c_str(),
                metrics_text(m.metrics).c_str());
  }
}

void run_push(const ModelFlags& f) {
  storage::ReductClient client = f.reduct.client();
  storage::StoredModel pushed = service::push_model_file(
      client, f.file,
      {.name = f.name, .version = f.version, .status = f.status});
  spdlog::info("pushed {} as model {} version {} ({}) to {}", f.file,
               pushed.model.name, pushed.model.version, pushed.model.status,
               f.reduct.url);
}

void run_list(const ModelFlags& f) {
  storage::ReductClient client = f.reduct.client();
  std::vector<storage::StoredModel> models =
      storage::list_models(client, {.name = f.name,
                                    .version = f.version,
                                    .status = f.status,
                                    .model_type = f.model_type});
  if (!f.json) {
    print_table(models);
    return;
  }
  nlohmann::json list = nlohmann::json::array();
  for (const storage::StoredModel& stored : models) {
    list.push_back(to_json(stored));
  }
  std::cout << list.dump(2) << "\n";
}

void run_pull(const ModelFlags& f) {
  storage::ReductClient client = f.reduct.client();
  storage::StoredModel pulled =
      service::pull_model_file(client, f.name, f.version, f.file);
  spdlog::info("pulled model {} version {} ({}) to {}", pulled.model.name,
               pulled.model.version, pulled.model.status, f.file);
}

void run_promote(const ModelFlags& f) {
  storage::ReductClient client = f.reduct.client();
  std::vector<std::string> retired =
      storage::promote_model(client, f.name, f.version);
  spdlog::info("model {} version {} is in production", f.name, f.version);
  for (const std::string& version : retired) {
    spdlog::info("model {} version {} retired", f.name, version);
  }
}

// Each verb has flags of its own: CLI11 fills the environment variable of
// every subcommand's options, parsed or not, so flags shared between verbs
// would let VIGIL_REDUCT_TOKEN override the --reduct-token given.
std::pair<CLI::App*, std::shared_ptr<ModelFlags>> add_verb(
    CLI::App& model, const std::string& name, const std::string& help,
    void (*run)(const ModelFlags&)) {
  auto f = std::make_shared<ModelFlags>();
  CLI::App* verb = model.add_subcommand(name, help);
  f->reduct.add_to(*verb);
  verb->callback([f, run] { run(*f); });
  return {verb, f};
}

void add_push(CLI::App& model) {
  auto [push, f] = add_verb(model, "push", "store a model file", run_push);
  push->add_option("file", f->file, "the .vigil file")->required();
  push->add_option("--name", f->name, "instead of the model's own name");
  push->add_option("--version", f->version,
                   "instead of the model's own version");
  push->add_option("--status", f->status, "instead of candidate");
}

void add_list(CLI::App& model) {
  auto [list, f] = add_verb(model, "list", "list stored models", run_list);
  list->add_option("--name", f->name, "only this model");
  list->add_option("--version", f->version, "only this version");
  list->add_option("--status", f->status, "only this status");
  list->add_option("--type", f->model_type, "only this model type");
  list->add_flag("--json", f->json, "print JSON instead of a table");
}

void add_pull(CLI::App& model) {
  auto [pull, f] =
      add_verb(model, "pull", "write a stored model to a file", run_pull);
  pull->add_option("name", f->name, "the model's name")->required();
  pull->add_option("--version", f->version, "default: the latest pushed");
  pull->add_option("--output,-o", f->file, "file to write")->required();
}

void add_promote(CLI::App& model) {
  auto [promote, f] = add_verb(
      model, "promote",
      "put a version in production, retiring the one there (also rollback)",
      run_promote);
  promote->add_option("name", f->name, "the model's name")->required();
  promote->add_option("--version", f->version, "the version")->required();
}

}  // namespace

void add_model_command(CLI::App& app) {
  CLI::App* model =
      app.add_subcommand("model", "keep trained models in ReductStore");
  model->require_subcommand(1);
  add_push(*model);
  add_list(*model);
  add_pull(*model);
  add_promote(*model);
}

}  // namespace vigil::cli

#endif  // VIGIL_HAVE_SERVICE
