// PatchCore (Roth et al., "Towards Total Recall in Industrial Anomaly
// Detection", CVPR 2022): a memory bank of locally aware patch features
// from normal images, subsampled by a greedy coreset; a patch's anomaly
// score is its distance to the nearest patch in the bank.
//
//   vigil::TrainRequest req;
//   req.type = "patchcore";
//   req.options = {{"coreset_ratio", 0.1}, {"search", "hnsw"}};
//   auto model = vigil::train_model(req, normal_images);
//
// Options (TrainRequest::options, JSON; unknown keys are an error):
//   coreset_ratio   fraction of all training patches kept in the memory
//                   bank (0, 1]. Default 0.1 (the paper, anomalib). Greedy
//                   selection costs O(patches x bank x projection_dim).
//   projection_dim  dimension of the sparse random projection used only to
//                   choose the coreset; 0 = the Johnson-Lindenstrauss
//                   bound for eps 0.9 (as anomalib), capped at the feature
//                   dimension. Default 0.
//   num_neighbors   the support set for the image-score reweighting (the
//                   paper's b). Default 9.
//   search          "exact" (FAISS IndexFlatL2: one BLAS product),
//                   "ivf" (IndexIVFFlat, its probed lists scanned by BLAS
//                   products; approximate, the fastest here: 5,574 x 128
//                   bank, 2 quiet cores, 10.5 against 24.7 ms per image,
//                   image AUROC 0.0009 below exact) or "hnsw" (IndexHNSWFlat;
//                   approximate, but Debian's FAISS computes its distances
//                   without SIMD, so it is slower than exact on banks of
//                   this size). Default "exact".
//   hnsw_m          HNSW links per node. Default 32.
//   ef_search       HNSW search breadth. Default 64.
//   ivf_nlist       IVF cells; 0 = 4 * sqrt(bank). Default 0.
//   ivf_nprobe      IVF cells visited per query. Default 16; on
//                   magnetic_tile 8 cost 0.010 image AUROC, 4 cost 0.017.
//   sigma           Gaussian smoothing of the map, pixels. Default 4.
//   search_threads  OpenMP threads (FAISS, OpenBLAS) for the search of one
//                   score() call; 0 = OpenMP's default (all cores).
//                   Default 1: one image's search is small, and where the
//                   cores are shared (other processes, or several images
//                   scored at once) OpenMP's threads wait on each other;
//                   on 2 busy cores 1 thread was 3x faster than 2.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace vigil {

struct PatchCoreOptions {
  double coreset_ratio = 0.1;
  int projection_dim = 0;
  int num_neighbors = 9;
  std::string search = "exact";
  int hnsw_m = 32;
  int ef_search = 64;
  int ivf_nlist = 0;
  int ivf_nprobe = 16;
  float sigma = 4.0f;
  int search_threads = 1;
};

// Throws vigil::Error naming a bad or unknown key.
PatchCoreOptions patchcore_options_from_json(const nlohmann::json& j);
nlohmann::json to_json(const PatchCoreOptions& o);

}  // namespace vigil
