#include "vigil/evaluate.h"

#include <chrono>
#include <cmath>

#include <spdlog/spdlog.h>

#include "vigil/error.h"
#include "vigil/image_io.h"
#include "vigil/metrics.h"

namespace vigil {
namespace {

constexpr int kBatchSize = 8;

// A normal image's mask is all zeros; a defective one's comes from its
// file; a defective image with no mask gets none (left out of pixel
// metrics).
cv::Mat mask_for(const Sample& s, cv::Size size) {
  if (!s.is_anomalous) return cv::Mat::zeros(size, CV_8UC1);
  if (s.mask_path.empty()) return cv::Mat();
  return read_mask(s.mask_path, size);
}

void score_batch(const Detector& detector, const std::vector<Sample>& samples,
                 std::size_t first, std::size_t count, ScoredSet& out,
                 double* total_ms) {
  std::vector<cv::Mat> images;
  for (std::size_t i = first; i < first + count; ++i) {
    images.push_back(read_image(samples[i].image_path));
  }
  auto start = std::chrono::steady_clock::now();
  RawOutput raw = detector.score_raw(images);
  *total_ms += std::chrono::duration<double, std::milli>(
                   std::chrono::steady_clock::now() - start)
                   .count();
  const Preprocess& p = detector.info().preprocess;
  for (std::size_t j = 0; j < count; ++j) {
    ScoredSample s;
    s.sample = samples[first + j];
    s.raw_score = raw.image_scores[j];
    cv::Mat map(raw.height, raw.width, CV_32FC1,
                raw.anomaly_maps.data() + j * raw.height * raw.width);
    s.raw_map = map_to_original(map, images[j].size(), p);
    s.mask = mask_for(s.sample, images[j].size());
    out.samples.push_back(std::move(s));
  }
}

struct Flat {
  std::vector<cv::Mat> maps, masks;
};

Flat with_masks(const ScoredSet& scored) {
  Flat flat;
  for (const ScoredSample& s : scored.samples) {
    if (s.mask.empty()) continue;
    flat.maps.push_back(s.raw_map);
    flat.masks.push_back(s.mask);
  }
  return flat;
}

void image_arrays(const ScoredSet& scored, std::vector<float>* scores,
                  std::vector<std::uint8_t>* labels) {
  for (const ScoredSample& s : scored.samples) {
    scores->push_back(s.raw_score);
    labels->push_back(s.sample.is_anomalous ? 1 : 0);
  }
}

double f1_at(const std::vector<float>& scores,
             const std::vector<std::uint8_t>& labels, float threshold) {
  double tp = 0, fp = 0, fn = 0;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    bool predicted = scores[i] >= threshold;
    tp += predicted && labels[i];
    fp += predicted && !labels[i];
    fn += !predicted && labels[i];
  }
  return tp == 0 ? 0.0 : 2 * tp / (2 * tp + fp + fn);
}

}  // namespace

ScoredSet score_samples(const Detector& detector,
                        const std::vector<Sample>& samples) {
  if (samples.empty()) throw Error("test split", "holds no image");
  ScoredSet out;
  double total_ms = 0.0;
  auto start = std::chrono::steady_clock::now();
  for (std::size_t first = 0; first < samples.size(); first += kBatchSize) {
    std::size_t count =
        std::min<std::size_t>(kBatchSize, samples.size() - first);
    score_batch(detector, samples, first, count, out, &total_ms);
    double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    double rate = (first + count) / elapsed;
    spdlog::info("scored {} of {} images ({:.1f} images/s, {:.0f} s left)",
                 first + count, samples.size(), rate,
                 (samples.size() - first - count) / rate);
  }
  out.mean_latency_ms = total_ms / samples.size();
  return out;
}

Calibration calibrate_on(const ScoredSet& scored) {
  std::vector<float> scores;
  std::vector<std::uint8_t> labels;
  image_arrays(scored, &scores, &labels);
  PixelSamples pixels;
  for (const ScoredSample& s : scored.samples) {
    if (s.mask.empty()) continue;
    const float* values = s.raw_map.ptr<float>();
    const std::uint8_t* mask = s.mask.ptr<std::uint8_t>();
    pixels.scores.insert(pixels.scores.end(), values,
                         values + s.raw_map.total());
    for (std::size_t i = 0; i < s.mask.total(); ++i) {
      pixels.labels.push_back(mask[i] ? 1 : 0);
    }
  }
  return calibrate(scores, labels, pixels);
}

Metrics compute_metrics(const ScoredSet& scored,
                        const Calibration& calibration) {
  Metrics m;
  std::vector<float> scores;
  std::vector<std::uint8_t> labels;
  image_arrays(scored, &scores, &labels);
  m.n_images = scores.size();
  for (std::uint8_t l : labels) m.n_anomalous += l;
  m.image_auroc = auroc(scores, labels);
  if (m.n_anomalous > 0) {
    F1Max best = f1_max(scores, labels);
    m.image_f1_max = best.f1;
    m.image_threshold = best.threshold;
  } else {
    m.image_f1_max = std::nan("");
  }
  m.image_f1_at_threshold = f1_at(scores, labels, calibration.image_threshold);
  Flat flat = with_masks(scored);
  for (const ScoredSample& s : scored.samples) {
    m.n_masks += s.sample.is_anomalous && !s.mask.empty();
  }
  m.pixel_auroc = pixel_auroc(flat.maps, flat.masks);
  m.aupro = aupro(flat.maps, flat.masks, 0.3);
  m.mean_latency_ms = scored.mean_latency_ms;
  return m;
}

nlohmann::json to_json(const Metrics& m) {
  auto number = [](double v) {
    return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v);
  };
  return {{"image_auroc", number(m.image_auroc)},
          {"pixel_auroc", number(m.pixel_auroc)},
          {"aupro", number(m.aupro)},
          {"image_f1_max", number(m.image_f1_max)},
          {"image_threshold", m.image_threshold},
          {"image_f1_at_threshold", number(m.image_f1_at_threshold)},
          {"n_images", m.n_images},
          {"n_anomalous", m.n_anomalous},
          {"n_masks", m.n_masks},
          {"mean_latency_ms", m.mean_latency_ms}};
}

}  // namespace vigil
