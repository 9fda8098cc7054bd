// vigil test: score a dataset's test split with a trained model and report
// the metrics with the model's own thresholds.
#include "commands.h"
#include "dataset_flags.h"
#include "report.h"
#include "vigil/evaluate.h"

namespace vigil::cli {
namespace {

struct TestFlags {
  std::string model_path;
  std::string backbone;
  DatasetFlags dataset;
  std::string json_path;
  int threads = 0;
};

void run_test(const TestFlags& f) {
  auto detector = Detector::open(f.model_path, {f.backbone, f.threads});
  Dataset dataset = f.dataset.load();
  ScoredSet scored = score_samples(*detector, dataset.test);
  Metrics m = compute_metrics(scored, detector->info().calibration);
  print_metrics_table("test of " + f.model_path + " (" + detector->info().type +
                          ") on " + f.dataset.root,
                      m);
  nlohmann::json j = to_json(m);
  j["model"] = f.model_path;
  j["model_type"] = detector->info().type;
  j["dataset"] = f.dataset.root;
  j["calibration"] = to_json(detector->info().calibration);
  if (!f.json_path.empty()) write_json(f.json_path, j);
}

}  // namespace

void add_test_command(CLI::App& app) {
  auto flags = std::make_shared<TestFlags>();
  CLI::App* c = app.add_subcommand("test", "report metrics on a test split");
  c->add_option("--model", flags->model_path, "trained model file")->required();
  c->add_option("--backbone", flags->backbone,
                "backbone file, when it moved since training");
  flags->dataset.add_to(*c);
  c->add_option("--json", flags->json_path, "write the metrics as JSON");
  c->add_option("--threads", flags->threads, "inference threads (0: all)");
  c->callback([flags] { run_test(*flags); });
}

}  // namespace vigil::cli
