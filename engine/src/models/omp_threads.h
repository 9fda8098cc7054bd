// Scoped OpenMP thread count for the models' scoring.
#pragma once

#include <omp.h>

namespace vigil {

// Sets the calling thread's OpenMP thread count for its lifetime (n <= 0:
// leave it), which OpenMP loops, FAISS and OpenBLAS read at each call.
// Scoring defaults to one thread: ONNX Runtime's pool has just run the
// backbone on every core, and its threads and OpenMP's spin while they
// wait, each slowing the other, so that on 2 cores a parallel loop after
// the backbone was slower than a serial one (PaDiM 13.5 against 8.7 ms per
// image).
class OmpThreads {
 public:
  explicit OmpThreads(int n) : saved_(omp_get_max_threads()), set_(n > 0) {
    if (set_) omp_set_num_threads(n);
  }
  ~OmpThreads() {
    if (set_) omp_set_num_threads(saved_);
  }
  OmpThreads(const OmpThreads&) = delete;
  OmpThreads& operator=(const OmpThreads&) = delete;

 private:
  int saved_;
  bool set_;
};

}  // namespace vigil
