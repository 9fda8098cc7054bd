// Two error paths, kept apart.
//
// vigil::Error is thrown for what a caller can act on: bad input, a missing
// or corrupt file, a bad configuration, an I/O failure. Its message names the
// file (or option) and the cause, e.g.
//   "train/good/007.png: cannot decode image (corrupt or truncated file)".
//
// VIGIL_ASSERT is for internal bugs: it prints the condition and aborts.
#pragma once

#include <stdexcept>
#include <string>

namespace vigil {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}

  // "<what>: <cause>", the form every caller-facing error takes.
  Error(const std::string& what, const std::string& cause)
      : std::runtime_error(what + ": " + cause) {}
};

[[noreturn]] void assertion_failed(const char* condition, const char* file,
                                   int line);

}  // namespace vigil

#define VIGIL_ASSERT(condition)                                  \
  do {                                                           \
    if (!(condition)) {                                          \
      ::vigil::assertion_failed(#condition, __FILE__, __LINE__); \
    }                                                            \
  } while (false)
