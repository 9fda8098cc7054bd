// vigil export: a trained model as one self-contained ONNX file.
#include <filesystem>
#include <memory>

#include "commands.h"
#include "vigil/error.h"
#include "vigil/export.h"

namespace vigil::cli {
namespace {

struct ExportFlags {
  std::string model_path;
  std::string backbone;
  std::string format = "onnx";
  std::string output;
};

void run_export(const ExportFlags& f) {
  if (std::filesystem::path(f.model_path).extension() == ".onnx") {
    throw Error(f.model_path,
                "already an ONNX export; export the .vigil "
                "file it came from");
  }
  LoadOptions options;
  options.backbone_path = f.backbone;
  LoadedModel model = load_model(f.model_path, options);
  export_onnx(model, f.output);
}

}  // namespace

void add_export_command(CLI::App& app) {
  auto flags = std::make_shared<ExportFlags>();
  CLI::App* c = app.add_subcommand(
      "export", "write a trained model as one ONNX file (see export.h)");
  c->add_option("--model", flags->model_path, "trained model file")->required();
  c->add_option("--backbone", flags->backbone,
                "backbone file, when it moved since training");
  c->add_option("--format", flags->format, "export format")
      ->check(CLI::IsMember({"onnx"}))
      ->capture_default_str();
  c->add_option("--output", flags->output, "the file to write, e.g. x.onnx")
      ->required();
  c->callback([flags] { run_export(*flags); });
}

}  // namespace vigil::cli
