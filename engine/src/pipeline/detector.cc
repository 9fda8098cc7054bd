#include "vigil/detector.h"

#include <chrono>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "vigil/error.h"
#include "vigil/stopwatch.h"

namespace vigil {

std::unique_ptr<Detector> Detector::open(const std::string& model_path,
                                         const LoadOptions& options) {
  return std::make_unique<Detector>(load_model(model_path, options));
}

Detector::Detector(LoadedModel loaded) : loaded_(std::move(loaded)) {
  VIGIL_ASSERT(loaded_.model != nullptr);
}

RawOutput Detector::score_raw(const std::vector<cv::Mat>& rgb,
                              Timings* timings) const {
  const Preprocess& p = loaded_.info.preprocess;
  auto start = Clock::now();
  std::vector<float> batch(rgb.size() * p.tensor_size());
  for (std::size_t i = 0; i < rgb.size(); ++i) {
    preprocess(rgb[i], p, batch.data() + i * p.tensor_size());
  }
  if (timings) timings->preprocess_ms += ms_since(start);

  StageTimes stages;
  RawOutput out = loaded_.model->score(batch.data(), rgb.size(), p.height,
                                       p.width, &stages);
  if (timings) {
    timings->backbone_ms += stages.backbone_ms;
    timings->scoring_ms += stages.scoring_ms;
  }
  return out;
}

std::vector<Verdict> Detector::predict_batch(
    const std::vector<cv::Mat>& rgb) const {
  auto start = Clock::now();
  Timings timings;
  RawOutput raw = score_raw(rgb, &timings);

  auto post = Clock::now();
  const Calibration& c = loaded_.info.calibration;
  const Preprocess& p = loaded_.info.preprocess;
  std::vector<Verdict> verdicts(rgb.size());
  for (std::size_t i = 0; i < rgb.size(); ++i) {
    Verdict& v = verdicts[i];
    v.raw_score = raw.image_scores[i];
    // NaN compares false with the threshold: it would pass as "normal".
    if (!std::isfinite(v.raw_score)) {
      throw Error("model " + loaded_.info.name,
                  "scored NaN or infinity (corrupt model or input)");
    }
    v.pred_score = c.normalize_image(v.raw_score);
    v.pred_label = v.pred_score >= 0.5f;
    cv::Mat map(raw.height, raw.width, CV_32FC1,
                raw.anomaly_maps.data() + i * raw.height * raw.width);
    // Normalising before resizing keeps both steps monotone, so the mask
    // is the same either way, and works on the smaller map.
    cv::Mat normalized(map.size(), CV_32FC1);
    map.forEach<float>([&](float value, const int* at) {
      normalized.at<float>(at[0], at[1]) = c.normalize_pixel(value);
    });
    v.anomaly_map = map_to_original(normalized, rgb[i].size(), p);
    cv::compare(v.anomaly_map, 0.5, v.pred_mask, cv::CMP_GE);
  }
  timings.postprocess_ms = ms_since(post);
  timings.total_ms = ms_since(start);
  for (Verdict& v : verdicts) v.timings = timings;
  return verdicts;
}

Verdict Detector::predict(const cv::Mat& rgb) const {
  return predict_batch({rgb}).front();
}

}  // namespace vigil
