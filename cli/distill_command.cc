// vigil distill: an EfficientAD teacher distilled from an ONNX backbone over
// a folder of images (see distill_teacher() in vigil/efficientad.h).
#include <filesystem>
#include <memory>

#include <spdlog/spdlog.h>

#include "commands.h"
#include "report.h"
#include "vigil/efficientad.h"

namespace vigil::cli {
namespace {

struct DistillFlags {
  DistillOptions options;
  std::vector<std::string> layers;
};

void run_distill(DistillFlags f) {
  check_writable(f.options.output);
  f.options.backbone.path =
      std::filesystem::absolute(f.options.backbone.path).string();
  f.options.backbone.layers = f.layers;
  DistillResult r = distill_teacher(f.options);
  spdlog::info(
      "distilled a {} teacher ({} channels) in {} steps over {} images in "
      "{:.1f} s: last loss {:.4f}, validation loss {:.4f}; wrote {}",
      f.options.model_size, f.options.channels, r.steps, r.images, r.seconds,
      r.last_loss, r.validation_loss, f.options.output);
}

void add_training_flags(CLI::App& c, GradientTrainingOptions& t) {
  c.add_option("--steps", t.steps, "optimiser steps")->capture_default_str();
  c.add_option("--epochs", t.epochs, "passes over the images; 0: no limit")
      ->capture_default_str();
  c.add_option("--batch-size", t.batch_size, "images per step")
      ->capture_default_str();
  c.add_option("--learning-rate", t.learning_rate, "Adam's step size")
      ->capture_default_str();
  c.add_option("--checkpoint", t.checkpoint, "checkpoint file");
  c.add_option("--checkpoint-every", t.checkpoint_every,
               "steps between checkpoints; 0: only at the end")
      ->capture_default_str();
  c.add_flag("--resume", t.resume, "continue from --checkpoint if it exists");
  c.add_option("--threads", t.threads, "LibTorch threads; 0: its default")
      ->capture_default_str();
}

}  // namespace

void add_distill_command(CLI::App& app) {
  auto flags = std::make_shared<DistillFlags>();
  DistillOptions& o = flags->options;
  CLI::App* c = app.add_subcommand(
      "distill", "distill an EfficientAD teacher from an ONNX backbone");
  c->add_option("--backbone", o.backbone.path, "ONNX backbone file")
      ->required();
  c->add_option("--layers", flags->layers, "tap tensor names, e.g. 365,426")
      ->delimiter(',')
      ->required();
  c->add_option("--images", o.images, "folder of images (not recursive)")
      ->required();
  c->add_option("--model-size", o.model_size, "small or medium")
      ->check(CLI::IsMember({"small", "medium"}))
      ->capture_default_str();
  c->add_option("--channels", o.channels, "teacher output channels")
      ->capture_default_str();
  c->add_option("--image-size", o.image_size, "square input size in px")
      ->capture_default_str();
  c->add_option("--seed", o.seed, "random seed")->capture_default_str();
  c->add_option("--output", o.output, "teacher file to write")->required();
  add_training_flags(*c, o.training);
  c->callback([flags] { run_distill(*flags); });
}

}  // namespace vigil::cli
