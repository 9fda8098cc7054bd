// Wall-clock timing of pipeline stages, in milliseconds.
//
//   auto start = vigil::Clock::now();
//   ...
//   double elapsed_ms = vigil::ms_since(start);
//
// Thread-safe: no state.
#pragma once

#include <chrono>

namespace vigil {

using Clock = std::chrono::steady_clock;

// Milliseconds from `start` to now.
inline double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start)
      .count();
}

}  // namespace vigil
