// Registration of the model types built into the engine. Explicit calls
// rather than static initialisers, which a static library would drop.
#pragma once

namespace vigil {

// Idempotent and thread-safe; called by load_model() and train_model().
void register_builtin_models();

// One per model type, each defined beside its model.
void register_patchcore();
void register_padim();
void register_fastflow();
void register_efficientad();

}  // namespace vigil
