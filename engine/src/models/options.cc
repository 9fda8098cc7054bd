#include "models/options.h"

namespace vigil {

OptionReader::OptionReader(const nlohmann::json& options, std::string model)
    : options_(options.is_null() ? nlohmann::json::object() : options),
      model_(std::move(model)) {
  if (!options_.is_object()) {
    throw Error(model_ + " options", "must be a JSON object");
  }
}

void OptionReader::reject_unknown() const {
  for (const auto& [key, value] : options_.items()) {
    if (!known_.count(key)) {
      throw Error(model_ + " option '" + key + "'", "unknown option");
    }
  }
}

void require_option(bool condition, const std::string& model,
                    const std::string& key, const std::string& cause) {
  if (!condition) throw Error(model + " option '" + key + "'", cause);
}

}  // namespace vigil
