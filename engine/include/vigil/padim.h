// PaDiM (Defard et al., "PaDiM: a Patch Distribution Modeling Framework
// for Anomaly Detection and Localization", ICPR 2020): a multivariate
// Gaussian per feature position, fitted on normal images; a patch's anomaly
// score is its Mahalanobis distance to its position's Gaussian.
//
//   vigil::TrainRequest req;
//   req.type = "padim";
//   req.options = {{"n_features", 100}};
//   auto model = vigil::train_model(req, normal_images);
//
// Options (TrainRequest::options, JSON; unknown keys are an error):
//   n_features  size of the random channel subset (the paper's d). 0 keeps
//               every channel. Default 100 (anomalib's for ResNet-18).
//               Memory and scoring time grow with positions x n_features^2.
//   epsilon     added to the covariance diagonal. Default 0.01 (paper).
//   sigma       Gaussian smoothing of the map, pixels. Default 4.
//   scoring_threads  OpenMP threads for the Mahalanobis distances of one
//               score() call; 0 = OpenMP's default (all cores). Default 1:
//               after the backbone has run on every core, parallel scoring
//               was slower on 2 cores (13.5 against 8.7 ms per image).
// The channel subset is drawn with TrainRequest::seed.
#pragma once

#include <nlohmann/json.hpp>

namespace vigil {

struct PadimOptions {
  int n_features = 100;
  double epsilon = 0.01;
  float sigma = 4.0f;
  int scoring_threads = 1;
};

// Throws vigil::Error naming a bad or unknown key.
PadimOptions padim_options_from_json(const nlohmann::json& j);
nlohmann::json to_json(const PadimOptions& o);

}  // namespace vigil
