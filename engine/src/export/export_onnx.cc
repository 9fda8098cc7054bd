#include "vigil/export.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>
#include <spdlog/spdlog.h>

#include "export/backbone_graph.h"
#include "export/graph_parts.h"
#include "export/model_graphs.h"
#include "vigil/error.h"

namespace vigil {
namespace {

using GraphFunction = ScoringGraph (*)(GraphBuilder&, const ExportInput&);

// The first ONNX IR version with opset 17.
constexpr int kIrVersion = 8;

GraphFunction graph_for(const std::string& type) {
  static const std::map<std::string, GraphFunction> kGraphs = {
      {"patchcore", patchcore_graph},
      {"padim", padim_graph},
      {"fastflow", fastflow_graph},
      {"efficientad", efficientad_graph},
  };
  auto it = kGraphs.find(type);
  if (it == kGraphs.end()) {
    throw Error("export", "model type '" + type +
                              "' has no ONNX export (see vigil/export.h)");
  }
  return it->second;
}

// dims: -1 stands for the free batch dimension.
void describe(onnx::ValueInfoProto* value, const std::string& name,
              const std::vector<std::int64_t>& dims) {
  value->set_name(name);
  auto* tensor = value->mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(onnx::TensorProto::FLOAT);
  for (std::int64_t d : dims) {
    auto* dim = tensor->mutable_shape()->add_dim();
    if (d < 0)
      dim->set_dim_param("batch");
    else
      dim->set_dim_value(d);
  }
}

std::vector<TapShape> tap_shapes(const Backbone& backbone, int height,
                                 int width) {
  std::vector<float> zeros(std::size_t(3) * height * width, 0.0f);
  std::vector<TapShape> shapes;
  for (const FeatureMap& tap :
       backbone.extract(zeros.data(), 1, height, width)) {
    shapes.push_back({tap.c, tap.h, tap.w});
  }
  return shapes;
}

ExportInput export_input(const LoadedModel& loaded, GraphBuilder& b) {
  const Preprocess& p = loaded.info.preprocess;
  ExportInput in;
  loaded.model->write_tensors(in.tensors);
  in.config = loaded.model->config();
  in.height = p.height;
  in.width = p.width;
  in.network_input = preprocess_graph(b, "image", p);
  if (const Backbone* backbone = loaded.model->backbone()) {
    in.taps = splice_backbone(b, *backbone, in.network_input, kExportOpset);
    in.tap_shapes = tap_shapes(*backbone, p.height, p.width);
  }
  return in;
}

nlohmann::json header_of(const LoadedModel& loaded) {
  const ModelInfo& info = loaded.info;
  const Backbone* backbone = loaded.model->backbone();
  nlohmann::json source = {{"path", info.backbone.path},
                           {"layers", info.backbone.layers},
                           {"sha256", info.backbone_sha256}};
  if (backbone) source["sha256"] = backbone->sha256();
  return {{"format", 1},
          {"type", loaded.model->type()},
          {"name", info.name},
          {"version", info.version},
          {"preprocess", to_json(info.preprocess)},
          {"backbone", source},
          {"calibration", to_json(info.calibration)},
          {"metrics", info.metrics},
          {"training", info.training},
          {"config", loaded.model->config()},
          {"export",
           {{"opset", kExportOpset},
            {"input",
             "image: n x 3 x H x W, RGB, 0..255, resized and "
             "cropped"},
            {"outputs",
             {"anomaly_map", "pred_score", "raw_score", "raw_anomaly_map"}}}}};
}

void add_outputs(GraphBuilder& b, const ScoringGraph& raw, const Calibration& c,
                 int height, int width) {
  b.add("Identity", {raw.anomaly_map}, {}, "raw_anomaly_map");
  b.add("Identity", {raw.image_score}, {}, "raw_score");
  std::string map = normalize_graph(b, raw.anomaly_map, c.pixel_threshold,
                                    c.pixel_min, c.pixel_max);
  b.add("Identity", {map}, {}, "anomaly_map");
  std::string score = normalize_graph(b, raw.image_score, c.image_threshold,
                                      c.image_min, c.image_max);
  b.add("Identity", {score}, {}, "pred_score");

  onnx::GraphProto& g = b.graph();
  describe(g.add_output(), "anomaly_map", {-1, 1, height, width});
  describe(g.add_output(), "pred_score", {-1});
  describe(g.add_output(), "raw_score", {-1});
  describe(g.add_output(), "raw_anomaly_map", {-1, 1, height, width});
}

onnx::ModelProto build_model(const LoadedModel& loaded) {
  onnx::ModelProto model;
  model.set_ir_version(kIrVersion);
  model.set_producer_name("vigil");
  model.set_producer_version("1");
  model.set_doc_string("vigil " + loaded.model->type() +
                       " model; the contract is in vigil/export.h");
  onnx::OperatorSetIdProto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(kExportOpset);
  onnx::StringStringEntryProto* meta = model.add_metadata_props();
  meta->set_key("vigil");
  meta->set_value(header_of(loaded).dump());

  onnx::GraphProto* graph = model.mutable_graph();
  graph->set_name("vigil_" + loaded.model->type());
  const Preprocess& p = loaded.info.preprocess;
  describe(graph->add_input(), "image", {-1, 3, p.height, p.width});
  GraphBuilder b(graph);
  GraphFunction scoring = graph_for(loaded.model->type());
  ExportInput in = export_input(loaded, b);
  add_outputs(b, scoring(b, in), loaded.info.calibration, p.height, p.width);
  return model;
}

void check(const onnx::ModelProto& model, const std::string& path) {
  try {
    onnx::checker::check_model(model);
    onnx::ModelProto inferred = model;
    onnx::shape_inference::InferShapes(
        inferred, onnx::OpSchemaRegistry::Instance(),
        onnx::ShapeInferenceOptions(true, 1, false));
  } catch (const std::exception& e) {
    throw Error(path, std::string("the exported graph fails the ONNX "
                                  "checker: ") +
                          e.what());
  }
}

void write_atomically(const std::string& bytes, const std::string& path) {
  std::string temporary = path + ".partial";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
    if (!out) {
      std::remove(temporary.c_str());
      throw Error(path,
                  "cannot write (no such folder, no space or no "
                  "permission)");
    }
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) {
    std::remove(temporary.c_str());
    throw Error(path, "cannot write: " + error.message());
  }
}

}  // namespace

void export_onnx(const LoadedModel& loaded, const std::string& output_path) {
  VIGIL_ASSERT(loaded.model != nullptr);
  auto start = std::chrono::steady_clock::now();
  onnx::ModelProto model = build_model(loaded);
  check(model, output_path);
  std::string bytes;
  if (!model.SerializeToString(&bytes)) {
    throw Error(output_path,
                "the graph exceeds protobuf's 2 GB limit "
                "(a smaller memory bank or fewer features)");
  }
  write_atomically(bytes, output_path);
  double ms = std::chrono::duration<double, std::milli>(
                  std::chrono::steady_clock::now() - start)
                  .count();
  spdlog::info("exported {} model to {} ({:.1f} MB, {} nodes) in {:.0f} ms",
               loaded.model->type(), output_path, bytes.size() / 1e6,
               model.graph().node_size(), ms);
}

}  // namespace vigil
