// vigil train: learn normal from a dataset's normal images, calibrate on
// its test split, save one model file.
#include <chrono>
#include <ctime>
#include <filesystem>
#include <sstream>

#include <spdlog/spdlog.h>

#include "commands.h"
#include "dataset_flags.h"
#include "report.h"
#include "vigil/error.h"
#include "vigil/evaluate.h"
#include "vigil/training.h"

namespace vigil::cli {
namespace {

struct TrainFlags {
  DatasetFlags dataset;
  std::string model_type;
  std::string backbone;
  std::vector<std::string> layers;
  std::string output;
  std::string name;
  std::vector<int> image_size{224, 224};
  std::vector<int> crop;
  std::vector<float> mean{0.485f, 0.456f, 0.406f};
  std::vector<float> std{0.229f, 0.224f, 0.225f};
  float scale = 1.0f / 255.0f;
  bool bgr = false;
  std::vector<std::string> options;
  int batch_size = 16;
  int threads = 0;
  std::string json_path;
};

Preprocess preprocess_from(const TrainFlags& f) {
  Preprocess p;
  p.resize_height = f.image_size[0];
  p.resize_width = f.image_size.size() > 1 ? f.image_size[1] : f.image_size[0];
  p.height = f.crop.empty() ? p.resize_height : f.crop[0];
  p.width = f.crop.empty() ? p.resize_width
                           : (f.crop.size() > 1 ? f.crop[1] : f.crop[0]);
  p.scale = f.scale;
  if (f.mean.size() != 3 || f.std.size() != 3) {
    throw Error("--mean/--std", "need three values (R,G,B)");
  }
  std::copy_n(f.mean.begin(), 3, p.mean.begin());
  std::copy_n(f.std.begin(), 3, p.std.begin());
  p.bgr = f.bgr;
  return preprocess_from_json(to_json(p));  // validates
}

// --option key=value; the value is read as JSON when it parses, else as a
// string, so that both ratio=0.1 and search=hnsw work.
nlohmann::json options_from(const std::vector<std::string>& pairs) {
  nlohmann::json options = nlohmann::json::object();
  for (const std::string& pair : pairs) {
    auto eq = pair.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw Error("--option " + pair, "expected key=value");
    }
    std::string value = pair.substr(eq + 1);
    nlohmann::json parsed = nlohmann::json::parse(value, nullptr, false);
    options[pair.substr(0, eq)] =
        parsed.is_discarded() ? nlohmann::json(value) : parsed;
  }
  return options;
}

std::string utc_now() {
  std::time_t now = std::time(nullptr);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return text;
}

void run_train(const TrainFlags& f) {
  check_writable(f.output);
  if (!f.json_path.empty()) check_writable(f.json_path);
  Dataset dataset = f.dataset.load();
  spdlog::info("dataset {}: {} normal training images, {} test images",
               f.dataset.root, dataset.train.size(), dataset.test.size());
  TrainRequest request;
  request.type = f.model_type;
  if (!f.backbone.empty()) {
    request.backbone = {std::filesystem::absolute(f.backbone).string(),
                        f.layers, f.threads};
  }
  request.preprocess = preprocess_from(f);
  request.options = options_from(f.options);
  request.seed = f.dataset.seed;
  request.batch_size = f.batch_size;

  std::vector<std::string> paths;
  for (const Sample& s : dataset.train) paths.push_back(s.image_path);
  TrainingSet normal = load_training_set(paths, request.preprocess);
  auto start = std::chrono::steady_clock::now();
  std::unique_ptr<Model> model = train_model(request, normal);
  double train_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  spdlog::info("trained {} on {} images in {:.1f} s", f.model_type, normal.n,
               train_s);

  LoadedModel loaded;
  loaded.info.type = model->type();
  loaded.info.name =
      f.name.empty() ? std::filesystem::path(f.output).stem().string() : f.name;
  loaded.info.version = utc_now();
  loaded.info.preprocess = request.preprocess;
  loaded.info.backbone = request.backbone;
  if (model->backbone())
    loaded.info.backbone_sha256 = model->backbone()->sha256();
  loaded.info.training = {{"dataset", f.dataset.root},
                          {"n_images", normal.n},
                          {"seconds", train_s},
                          {"options", model->config()}};
  loaded.model = std::move(model);
  Detector detector(std::move(loaded));

  ScoredSet scored = score_samples(detector, dataset.test);
  detector.mutable_info().calibration = calibrate_on(scored);
  Metrics metrics = compute_metrics(scored, detector.info().calibration);
  detector.mutable_info().metrics = to_json(metrics);
  save_model(f.output, detector.model(), detector.info());
  spdlog::info("saved {}", f.output);
  print_metrics_table("validation of " + f.output + " (" + f.model_type +
                          ") on " + f.dataset.root,
                      metrics);
  if (!f.json_path.empty()) write_json(f.json_path, to_json(metrics));
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto flags = std::make_shared<TrainFlags>();
  CLI::App* c = app.add_subcommand("train", "train a model on normal images");
  flags->dataset.add_to(*c);
  c->add_option("--model", flags->model_type,
                "patchcore, padim, fastflow or efficientad")
      ->required();
  c->add_option("--backbone", flags->backbone, "ONNX backbone file");
  c->add_option("--layers", flags->layers, "tap tensor names, e.g. 365,426")
      ->delimiter(',');
  c->add_option("--output", flags->output, "model file to write")->required();
  c->add_option("--name", flags->name, "model name (default: file stem)");
  c->add_option("--image-size", flags->image_size,
                "resize to H[,W] before the network")
      ->delimiter(',')
      ->capture_default_str();
  c->add_option("--crop", flags->crop, "centre crop H[,W] after resizing")
      ->delimiter(',');
  c->add_option("--mean", flags->mean, "per-channel mean R,G,B")
      ->delimiter(',')
      ->capture_default_str();
  c->add_option("--std", flags->std, "per-channel std R,G,B")
      ->delimiter(',')
      ->capture_default_str();
  c->add_option("--scale", flags->scale, "pixel scale before mean/std")
      ->capture_default_str();
  c->add_flag("--bgr", flags->bgr, "feed channels in B,G,R order");
  c->add_option("--option", flags->options,
                "model option key=value (see the model's header), "
                "repeatable");
  c->add_option("--seed", flags->dataset.seed, "random seed")
      ->capture_default_str();
  c->add_option("--batch-size", flags->batch_size, "images per batch")
      ->capture_default_str();
  c->add_option("--threads", flags->threads, "inference threads (0: all)");
  c->add_option("--json", flags->json_path, "write validation metrics");
  c->callback([flags] { run_train(*flags); });
}

}  // namespace vigil::cli
