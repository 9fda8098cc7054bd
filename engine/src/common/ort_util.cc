#include "common/ort_util.h"

#include <array>
#include <cstddef>

namespace vigil {

Ort::Env& ort_env() {
  static Ort::Env env(ORT_LOGGING_LEVEL_WARNING, "vigil");
  return env;
}

Ort::SessionOptions session_options(int threads) {
  Ort::SessionOptions options;
  options.SetIntraOpNumThreads(threads);
  options.SetInterOpNumThreads(1);
  options.SetGraphOptimizationLevel(ORT_ENABLE_ALL);
  options.AddConfigEntry("session.intra_op.allow_spinning", "0");
  return options;
}

Ort::Value image_tensor(const float* images, std::int64_t n,
                        std::int64_t height, std::int64_t width) {
  std::array<std::int64_t, 4> shape = {n, 3, height, width};
  Ort::MemoryInfo memory =
      Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  return Ort::Value::CreateTensor<float>(memory, const_cast<float*>(images),
                                         std::size_t(n) * 3 * height * width,
                                         shape.data(), shape.size());
}

}  // namespace vigil
