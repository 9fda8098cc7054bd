#include "vigil/error.h"

#include <cstdio>
#include <cstdlib>

namespace vigil {

void assertion_failed(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "vigil: internal error: %s failed at %s:%d\n", condition,
               file, line);
  std::abort();
}

}  // namespace vigil
