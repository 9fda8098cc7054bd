#include "models/builtin.h"

#include <mutex>

namespace vigil {

void register_builtin_models() {
  static std::once_flag once;
  std::call_once(once, [] {
    register_patchcore();
    register_padim();
    register_fastflow();
    register_efficientad();
  });
}

}  // namespace vigil
