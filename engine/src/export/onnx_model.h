// Running an exported ONNX file (internal): the Model that load_model()
// returns for a ".onnx" path, and direct access to every output of the
// graph for the parity tests. The graph's contract is in vigil/export.h.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vigil/model.h"

namespace vigil {

// Everything the exported graph returns for a batch.
struct ExportedOutputs {
  int n = 0, height = 0, width = 0;
  std::vector<float> anomaly_maps;      // n x height x width, in [0, 1]
  std::vector<float> pred_scores;       // n, in [0, 1]
  std::vector<float> raw_scores;        // n
  std::vector<float> raw_anomaly_maps;  // n x height x width
};

// One ONNX Runtime session on an exported file. run() is safe to call from
// several threads at once.
class ExportedGraph {
 public:
  // threads: ONNX Runtime intra-op threads, 0 for all cores. Throws
  // vigil::Error naming the file: missing, not ONNX, or without vigil's
  // metadata.
  ExportedGraph(const std::string& path, int threads);
  ~ExportedGraph();

  // The "vigil" metadata (see vigil/export.h).
  const nlohmann::json& header() const { return header_; }

  // images: n x 3 x height x width, row-major, float32, RGB values
  // 0..255 at the exported size. Throws vigil::Error naming the file when
  // the size differs from the exported one or ONNX Runtime fails.
  ExportedOutputs run(const float* images, int n, int height, int width) const;

 private:
  struct Session;
  std::string path_;
  nlohmann::json header_;
  std::unique_ptr<Session> session_;
};

// True for a path ending in ".onnx" (any case).
bool is_onnx_path(const std::string& path);

// What load_model() does for an exported file. The ModelInfo's Preprocess
// keeps the exported sizes but has scale 1, mean 0, std 1 and RGB order,
// so the Detector hands the graph the 0..255 pixels it expects; the
// calibration is the one exported (the Detector normalises the raw
// outputs with it, as for a native model). options.backbone_path is
// ignored: the backbone is inside the file.
LoadedModel load_onnx_model(const std::string& path,
                            const LoadOptions& options);

}  // namespace vigil
