// What every ONNX Runtime session of the engine shares: the process's one
// environment, and an input tensor over a caller's image batch.
#pragma once

#include <cstdint>

#include <onnxruntime_cxx_api.h>

namespace vigil {

// One ONNX Runtime environment per process, as its documentation asks.
// Thread-safe (a function-local static).
Ort::Env& ort_env();

// A tensor that borrows `images` (n x 3 x height x width, row-major,
// float32): the caller keeps them alive and unchanged while it is used.
Ort::Value image_tensor(const float* images, std::int64_t n,
                        std::int64_t height, std::int64_t width);

}  // namespace vigil
