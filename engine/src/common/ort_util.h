// What every ONNX Runtime session of the engine shares: the process's one
// environment, its session options, and an input tensor over a caller's
// image batch.
#pragma once

#include <cstdint>

#include <onnxruntime_cxx_api.h>

namespace vigil {

// One ONNX Runtime environment per process, as its documentation asks.
// Thread-safe (a function-local static).
Ort::Env& ort_env();

// Session options for `threads` intra-op threads (0: ONNX Runtime's choice,
// all cores), one inter-op thread, every graph optimisation, and no
// spin-waiting between operators. Spinning kept the pool's threads busy
// while idle: with it, inference alone cost 13.8 ms of CPU a frame instead
// of 9.0 (vigil_serve_bench, PaDiM, 2 cores) and starved the service's
// other stages, with no gain in latency (vigil_bench PaDiM batch 1: 7.2
// and 9.2 ms spinning, 6.7 and 8.0 ms not).
Ort::SessionOptions session_options(int threads);

// A tensor that borrows `images` (n x 3 x height x width, row-major,
// float32): the caller keeps them alive and unchanged while it is used.
Ort::Value image_tensor(const float* images, std::int64_t n,
                        std::int64_t height, std::int64_t width);

}  // namespace vigil
