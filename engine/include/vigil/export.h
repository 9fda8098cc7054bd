// Exporting a trained model as one ONNX file that scores on its own, with
// no vigil code: for ONNX Runtime, OpenVINO and other ONNX runtimes.
//
//   vigil::LoadedModel m = vigil::load_model("tile.vigil");
//   vigil::export_onnx(m, "tile.onnx");
//   auto detector = vigil::Detector::open("tile.onnx");  // runs the file
//
// The graph's contract (ONNX opset 17, IR version 8):
//   input  image            float32, n x 3 x H x W: RGB, values 0..255,
//                           already resized and centre-cropped as the
//                           model's Preprocess does (H x W is its height x
//                           width). The graph applies the Preprocess's
//                           channel order, scale, mean and std itself.
//   output anomaly_map      float32, n x 1 x H x W, normalised to [0, 1]
//                           as Calibration::normalize_pixel; >= 0.5 marks
//                           a defect pixel.
//          pred_score       float32, n, normalised as
//                           Calibration::normalize_image; >= 0.5 means
//                           anomalous.
//          raw_score        float32, n: the model's own image score.
//          raw_anomaly_map  float32, n x 1 x H x W, before normalisation
//                           (what vigil's Detector normalises itself, so
//                           that `vigil test` can recalibrate).
//   n is free; H and W are fixed at export.
//   metadata_props["vigil"]: JSON with the model's type, name, version,
//   preprocess, calibration, backbone (source path, layers, SHA-256),
//   metrics, training, config, and "export" (opset, the graph's notes).
// Mapping the map back to the original image is left to the caller (see
// vigil::map_to_original).
//
// The parity tests (tests/parity, label `parity`) score real images with
// the native model, with the file on ONNX Runtime from C++, and on PyPI's
// onnxruntime and openvino; all agree to 1e-4 in maps and scores and on
// every label. OpenVINO must be asked for float32 on the CPU
// (INFERENCE_PRECISION_HINT "f32"): on CPUs with bfloat16 its default
// precision is bfloat16, far outside that tolerance.
//
// Per model type:
//   patchcore  The backbone, 3 x 3 average pooling, bilinear upsampling,
//              then exact nearest-neighbour search as one matrix product
//              with the whole memory bank (working memory n*h*w x bank
//              floats), and the image-score reweighting with every bank
//              row's support set computed at export. A model trained with
//              approximate search ("hnsw", "ivf") is exported with exact
//              search, the nearest sound alternative, since an approximate
//              index has no ONNX form: the export logs a warning, and the
//              file scores as the same memory bank searched exactly.
//   padim      The backbone, nearest-neighbour upsampling, the channel
//              subset, and all positions' Mahalanobis distances as one
//              batched matrix product (positions x d x d floats in the
//              file, as in the model file).
//   fastflow   The backbone, then per tap the LayerNorm (written out as
//              mean, variance and affine) and every flow step (two
//              convolutions, Tanh, Exp, the global affine and the channel
//              permutation as a Gather), and the likelihood map. The
//              log-determinant only trains, and is left out.
//   efficientad  Teacher, student and autoencoder as convolutions, ReLU,
//              average pooling and bilinear resizing (no backbone), the
//              two maps with their quantile normalisation.
// PatchCore's and PaDiM's maps are upsampled bilinearly and blurred by two
// 1-D convolutions with reflected borders, as the native code does with
// OpenCV; this needs H and W larger than the blur's radius (4 * sigma
// rounded).
//
// Thread-safety: export_onnx only reads `model`, and may run while other
// threads score with it.
#pragma once

#include <string>

#include "vigil/model.h"

namespace vigil {

// The ONNX opset of every exported file: the newest that the ONNX library
// vigil builds with (1.12) can check, and that ONNX Runtime 1.13+ and
// OpenVINO 2022.3+ run.
inline constexpr int kExportOpset = 17;

// Writes `model` as one ONNX file at `output_path` (through a temporary
// file, so a failure leaves no half-written file), after checking it with
// the ONNX checker and strict shape inference.
// Throws vigil::Error: for a model type that cannot be exported (the
// message gives the reason), a backbone that cannot be carried into the
// graph, a map too small for its blur, a failed check, or an I/O failure
// naming `output_path`.
void export_onnx(const LoadedModel& model, const std::string& output_path);

}  // namespace vigil
