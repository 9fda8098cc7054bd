#include "models/gradient_options.h"

namespace vigil {

void read_gradient_options(OptionReader& reader, const std::string& model,
                           GradientTrainingOptions& o) {
  reader.read("epochs", o.epochs);
  reader.read("steps", o.steps);
  reader.read("batch_size", o.batch_size);
  reader.read("learning_rate", o.learning_rate);
  reader.read("weight_decay", o.weight_decay);
  reader.read("checkpoint", o.checkpoint);
  reader.read("checkpoint_every", o.checkpoint_every);
  reader.read("resume", o.resume);
  reader.read("validate_every", o.validate_every);
  reader.read("patience", o.patience);
  reader.read("validation_fraction", o.validation_fraction);
  reader.read("threads", o.threads);
  reader.read("deterministic", o.deterministic);

  require_option(o.epochs >= 0, model, "epochs", "must not be negative");
  require_option(o.steps >= 0, model, "steps", "must not be negative");
  require_option(o.epochs > 0 || o.steps > 0, model, "epochs",
                 "epochs or steps must be positive");
  require_option(o.batch_size > 0, model, "batch_size", "must be positive");
  require_option(o.learning_rate > 0, model, "learning_rate",
                 "must be positive");
  require_option(o.weight_decay >= 0, model, "weight_decay",
                 "must not be negative");
  require_option(o.checkpoint_every >= 0, model, "checkpoint_every",
                 "must not be negative");
  require_option(!o.resume || !o.checkpoint.empty(), model, "resume",
                 "needs a checkpoint file");
  require_option(o.validate_every >= 0, model, "validate_every",
                 "must not be negative");
  require_option(o.patience >= 0, model, "patience", "must not be negative");
  require_option(o.validation_fraction > 0 && o.validation_fraction < 1, model,
                 "validation_fraction", "must be in (0, 1)");
  require_option(o.threads >= 0, model, "threads", "must not be negative");
}

nlohmann::json to_json(const GradientTrainingOptions& o) {
  return {{"epochs", o.epochs},
          {"steps", o.steps},
          {"batch_size", o.batch_size},
          {"learning_rate", o.learning_rate},
          {"weight_decay", o.weight_decay},
          {"checkpoint", o.checkpoint},
          {"checkpoint_every", o.checkpoint_every},
          {"resume", o.resume},
          {"validate_every", o.validate_every},
          {"patience", o.patience},
          {"validation_fraction", o.validation_fraction},
          {"threads", o.threads},
          {"deterministic", o.deterministic}};
}

}  // namespace vigil
