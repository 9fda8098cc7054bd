#include "models/gradient_options.h"
#include "models/options.h"
#include "vigil/efficientad.h"

namespace vigil {

EfficientAdOptions efficientad_options_from_json(const nlohmann::json& j) {
  EfficientAdOptions o;
  OptionReader reader(j, "efficientad");
  reader.read("model_size", o.model_size);
  reader.read("teacher", o.teacher);
  reader.read("teacher_channels", o.teacher_channels);
  reader.read("padding", o.padding);
  reader.read("pad_maps", o.pad_maps);
  reader.read("penalty_images", o.penalty_images);
  reader.read("hard_quantile", o.hard_quantile);
  reader.read("map_quantile_a", o.map_quantile_a);
  reader.read("map_quantile_b", o.map_quantile_b);
  read_gradient_options(reader, "efficientad", o.training);
  reader.reject_unknown();
  const std::string m = "efficientad";
  require_option(o.model_size == "small" || o.model_size == "medium", m,
                 "model_size", "must be small or medium");
  require_option(!o.teacher.empty(), m, "teacher",
                 "required: a teacher file (vigil distill), or \"random\" "
                 "for an untrained teacher (tests only)");
  require_option(o.teacher_channels > 0, m, "teacher_channels",
                 "must be positive");
  require_option(o.hard_quantile >= 0 && o.hard_quantile < 1, m,
                 "hard_quantile", "must be in [0, 1)");
  require_option(o.map_quantile_a >= 0 && o.map_quantile_a < 1, m,
                 "map_quantile_a", "must be in [0, 1)");
  require_option(o.map_quantile_b > o.map_quantile_a && o.map_quantile_b <= 1,
                 m, "map_quantile_b", "must be in (map_quantile_a, 1]");
  return o;
}

nlohmann::json to_json(const EfficientAdOptions& o) {
  nlohmann::json j = to_json(o.training);
  j["model_size"] = o.model_size;
  j["teacher"] = o.teacher;
  j["teacher_channels"] = o.teacher_channels;
  j["padding"] = o.padding;
  j["pad_maps"] = o.pad_maps;
  j["penalty_images"] = o.penalty_images;
  j["hard_quantile"] = o.hard_quantile;
  j["map_quantile_a"] = o.map_quantile_a;
  j["map_quantile_b"] = o.map_quantile_b;
  return j;
}

}  // namespace vigil
