#ifdef VIGIL_HAVE_SERVICE
#include "reduct_flags.h"

namespace vigil::cli {

void ReductFlags::add_to(CLI::App& command) {
  command.add_option("--reduct-url", url, "ReductStore URL")
      ->capture_default_str();
  command.add_option("--reduct-token", token, "ReductStore API token")
      ->envname("VIGIL_REDUCT_TOKEN");
}

storage::ReductClient ReductFlags::client() const {
  return storage::ReductClient({.url = url, .api_token = token});
}

}  // namespace vigil::cli

#endif  // VIGIL_HAVE_SERVICE
