// Reading a model's options from JSON, strictly: unknown keys and values of
// the wrong type are errors that name the key.
#pragma once

#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "vigil/error.h"

namespace vigil {

class OptionReader {
 public:
  // `model` names the model in errors ("patchcore option 'ratio': ...").
  OptionReader(const nlohmann::json& options, std::string model);

  // Sets `value` from key `key` when present; throws vigil::Error when the
  // value has the wrong type.
  template <typename T>
  void read(const std::string& key, T& value) {
    known_.insert(key);
    if (!options_.contains(key)) return;
    try {
      value = options_.at(key).get<T>();
    } catch (const nlohmann::json::exception&) {
      throw Error(model_ + " option '" + key + "'",
                  "has the wrong type: " + options_.at(key).dump());
    }
  }

  // Throws vigil::Error naming the first key that was never read.
  void reject_unknown() const;

 private:
  nlohmann::json options_;
  std::string model_;
  std::set<std::string> known_;
};

// Throws vigil::Error("<model> option '<key>'", cause) unless `condition`.
void require_option(bool condition, const std::string& model,
                    const std::string& key, const std::string& cause);

}  // namespace vigil
