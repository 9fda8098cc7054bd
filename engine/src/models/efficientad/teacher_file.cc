// The teacher file: a TensorFile with the PDN's tensors and what it was
// distilled for.
#include <cmath>

#include <torch/torch.h>

#include "models/efficientad/efficientad_model.h"
#include "models/torch_util.h"
#include "vigil/error.h"

namespace vigil {
namespace {

bool close(float a, float b) { return std::fabs(a - b) <= 1e-6f; }

// Whether images preprocessed with `a` look the same to a network as with
// `b` (sizes aside).
bool same_normalisation(const Preprocess& a, const Preprocess& b) {
  bool same = close(a.scale, b.scale) && a.bgr == b.bgr;
  for (int c = 0; c < 3; ++c) {
    same = same && close(a.mean[c], b.mean[c]) && close(a.std[c], b.std[c]);
  }
  return same;
}

nlohmann::json teacher_metadata(const TensorFile& file,
                                const std::string& path) {
  auto it = file.metadata.find(kTeacherMetadata);
  if (it == file.metadata.end()) return nlohmann::json::object();
  try {
    return nlohmann::json::parse(it->second);
  } catch (const nlohmann::json::exception& e) {
    throw Error(path, std::string("bad teacher metadata: ") + e.what());
  }
}

}  // namespace

void load_teacher(const std::string& path, const std::string& model_size,
                  std::int64_t channels, const Preprocess& preprocess,
                  Pdn& pdn) {
  TensorFile file = TensorFile::load(path);
  nlohmann::json meta = teacher_metadata(file, path);
  if (meta.value("model_size", model_size) != model_size) {
    throw Error(path, "a " + meta["model_size"].get<std::string>() +
                          " teacher, not " + model_size);
  }
  if (meta.value("channels", channels) != channels) {
    throw Error(path, "a teacher of " + meta["channels"].dump() +
                          " channels, not " + std::to_string(channels));
  }
  Preprocess expected;  // vigil's defaults: anomalib's teacher expects them
  if (meta.contains("preprocess")) {
    expected = preprocess_from_json(meta["preprocess"]);
  }
  if (!same_normalisation(expected, preprocess)) {
    throw Error(path,
                "the teacher expects another input normalisation "
                "(scale, mean, std or channel order) than the "
                "preprocessing given");
  }
  try {
    read_module(*pdn, "", file);
  } catch (const Error& e) {
    throw Error(path, e.what());
  }
}

void save_teacher(const std::string& path, Pdn& pdn,
                  const nlohmann::json& metadata) {
  TensorFile file;
  write_module(*pdn, "", file);
  file.metadata[kTeacherMetadata] = metadata.dump();
  file.save(path);
}

}  // namespace vigil
