#include <chrono>

#include <spdlog/spdlog.h>

#include "vigil/error.h"
#include "vigil/image_io.h"
#include "vigil/training.h"

namespace vigil {

TrainingSet load_training_set(const std::vector<std::string>& paths,
                              const Preprocess& preprocess_options) {
  TrainingSet set;
  set.n = paths.size();
  set.height = preprocess_options.height;
  set.width = preprocess_options.width;
  set.paths = paths;
  const std::size_t size = preprocess_options.tensor_size();
  set.images.resize(size * set.n);
  auto start = std::chrono::steady_clock::now();
  std::vector<std::string> errors(set.n);
#pragma omp parallel for schedule(dynamic)
  for (int i = 0; i < set.n; ++i) {
    try {
      cv::Mat rgb = read_image(paths[i]);
      preprocess(rgb, preprocess_options, set.images.data() + i * size);
    } catch (const std::exception& e) {
      errors[i] = e.what();
    }
  }
  for (const std::string& error : errors) {
    if (!error.empty()) throw Error(error);
  }
  double s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  spdlog::info("read {} images in {:.1f} s", set.n, s);
  return set;
}

}  // namespace vigil
