// The vigil::Model that scores with a trained EfficientAD net, and the
// teacher file. See vigil/efficientad.h.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "models/efficientad/efficientad_net.h"
#include "vigil/efficientad.h"
#include "vigil/model.h"
#include "vigil/preprocess.h"

namespace vigil {

// The networks' shapes for `options` at an input of height x width.
// Throws vigil::Error for a bad model size or too small an input.
EfficientAdArch efficientad_arch(const EfficientAdOptions& options, int height,
                                 int width);

std::unique_ptr<Model> make_efficientad_model(const EfficientAdOptions& o,
                                              EfficientAdNet net);

// Rebuilds a model written by save_model().
std::unique_ptr<Model> load_efficientad(const nlohmann::json& config,
                                        const TensorFile& file,
                                        std::unique_ptr<Backbone> backbone);

// The teacher file's metadata key (see vigil/efficientad.h).
inline constexpr const char* kTeacherMetadata = "vigil_teacher";

// Loads a teacher file into `pdn`. Throws vigil::Error naming the file:
// unreadable, another model size or channel count, or distilled for
// another input normalisation than `preprocess`.
void load_teacher(const std::string& path, const std::string& model_size,
                  std::int64_t channels, const Preprocess& preprocess,
                  Pdn& pdn);
// Writes `pdn` and `metadata` (an object; model_size, channels and
// preprocess must be in it) as a teacher file.
void save_teacher(const std::string& path, Pdn& pdn,
                  const nlohmann::json& metadata);

}  // namespace vigil
