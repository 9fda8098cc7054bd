// The service end to end against a real ReductStore: frames from a watched
// folder stored with their verdicts; exactly once across a ReductStore
// crash; bad uploads refused with the cause; writes need the token.
#include <httplib.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

#include <opencv2/imgcodecs.hpp>

#include "service/service_support.h"
#include "storage/reduct_server.h"
#include "support/test_support.h"
#include "vigil/image_io.h"
#include "vigil/service/service.h"
#include "vigil/storage/layout.h"

namespace vigil::service {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::ReductServer;
using testing::TempDir;
using testing::wait_until;

void copy_into(const std::vector<fs::path>& files, const fs::path& dir) {
  for (const fs::path& file : files) {
    fs::copy_file(file, dir / file.filename());
  }
}

std::vector<storage::Record> frames_of(storage::ReductClient& client,
                                       const std::string& entry,
                                       bool metadata_only = false) {
  storage::QueryOptions options;
  options.metadata_only = metadata_only;
  return client.query(storage::kFramesBucket, entry, options);
}

std::string body_of(const fs::path& path) {
  std::vector<std::uint8_t> bytes = read_file_bytes(path.string());
  return std::string(bytes.begin(), bytes.end());
}

class ServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Trained before the clock of any test starts.
    testing::tiny_model_path();
  }

  ReductServer server_;
  TempDir dir_;
  storage::ReductClient client_{server_.client_options()};
};

TEST_F(ServeTest, WatchedFolderFramesAreStoredWithTheirVerdicts) {
  const std::vector<fs::path> images = testing::sample_images(8);
  fs::create_directories(dir_ / "in");
  copy_into(images, dir_ / "in");
  ServiceConfig config = testing::test_config(server_, dir_ / "spool", "t");
  config.watch.push_back(
      {.dir = (dir_ / "in").string(), .source = "line 1", .poll_ms = 20});
  config.exit_when_done = true;

  {
    Service service(config);
    service.start();
    ASSERT_TRUE(wait_until([&] { return service.done(); }));
    service.stop();
  }

  // The same model scoring the same files directly is the reference.
  auto detector = Detector::open(testing::tiny_model_path());
  std::map<std::string, fs::path> by_name;
  for (const fs::path& image : images) by_name[image.filename()] = image;
  std::vector<storage::Record> frames = frames_of(client_, "line_1");
  ASSERT_EQ(frames.size(), images.size());
  std::set<std::string> origins;
  std::map<std::uint64_t, fs::path> anomalous;  // timestamp -> file
  for (const storage::Record& frame : frames) {
    storage::FrameLabels labels = storage::parse_frame_labels(frame.labels);
    ASSERT_EQ(by_name.count(labels.origin), 1u) << labels.origin;
    origins.insert(labels.origin);
    const fs::path& file = by_name[labels.origin];
    Verdict expected = detector->predict(read_image(file.string()));

    EXPECT_EQ(labels.model, "tiny-padim");
    EXPECT_EQ(labels.model_version, "test-1");
    EXPECT_EQ(labels.source, "line 1");
    EXPECT_NEAR(labels.pred_score, expected.pred_score, 1e-5);
    EXPECT_NEAR(labels.raw_score, expected.raw_score,
                1e-5 * std::abs(expected.raw_score));
    EXPECT_EQ(labels.pred_label, expected.pred_label);
    EXPECT_GT(labels.latency_ms, 0.0);
    EXPECT_EQ(frame.content_type, "image/jpeg");
    EXPECT_EQ(std::string(frame.data.begin(), frame.data.end()),
              body_of(file));  // the image as received
    if (labels.pred_label) anomalous[frame.timestamp_us] = file;
  }
  EXPECT_EQ(origins.size(), images.size());

  // The calibration puts the threshold at the median of these samples.
  EXPECT_EQ(anomalous.size(), images.size() / 2);
  std::vector<storage::Record> maps =
      client_.query(storage::kMapsBucket, "line_1");
  ASSERT_EQ(maps.size(), anomalous.size());
  for (const storage::Record& map : maps) {
    ASSERT_EQ(anomalous.count(map.timestamp_us), 1u);
    EXPECT_EQ(map.content_type, "image/png");
    // At the size of its own frame.
    EXPECT_EQ(decode_image(map.data, "map").size(),
              read_image(anomalous[map.timestamp_us].string()).size());
  }

  for (const fs::path& image : images) {
    EXPECT_TRUE(fs::exists(dir_ / "in" / "processed" / image.filename()));
    EXPECT_FALSE(fs::exists(dir_ / "in" / image.filename()));
  }
  EXPECT_TRUE(fs::is_empty(dir_ / "spool" / "failed"));
}

TEST_F(ServeTest, EveryAcceptedFrameIsStoredExactlyOnceAcrossACrash) {
  const std::vector<fs::path> images = testing::sample_images(20);
  const std::vector<fs::path> first(images.begin(), images.begin() + 10);
  const std::vector<fs::path> second(images.begin() + 10, images.end());
  fs::create_directories(dir_ / "in");
  ServiceConfig config = testing::test_config(server_, dir_ / "spool", "t");
  config.watch.push_back(
      {.dir = (dir_ / "in").string(), .source = "cam", .poll_ms = 20});
  config.spool.batch_records = 4;
  config.exit_when_done = true;

  Service service(config);
  service.start();
  copy_into(first, dir_ / "in");
  // Killed while the first frames are on their way.
  ASSERT_TRUE(
      wait_until([&] { return service.metrics().frames_stored.value() >= 1; }));
  server_.kill();

  copy_into(second, dir_ / "in");
  ASSERT_TRUE(wait_until(
      [&] { return service.metrics().frames_spooled.value() == 20; }));
  EXPECT_GT(service.spool().record_count(), 0u);
  EXPECT_TRUE(service.readiness().ready);  // spooling
  EXPECT_EQ(service.readiness().details["storage"], "unreachable, spooling");

  server_.start();
  ASSERT_TRUE(wait_until([&] { return service.done(); }));
  service.stop();

  std::vector<storage::Record> frames = frames_of(client_, "cam", true);
  std::set<std::string> ids, origins;
  for (const storage::Record& frame : frames) {
    ids.insert(frame.labels.at("frame_id"));
    origins.insert(frame.labels.at("origin"));
  }
  EXPECT_EQ(frames.size(), 20u);
  EXPECT_EQ(ids.size(), 20u);
  EXPECT_EQ(origins.size(), 20u);
  EXPECT_EQ(service.metrics().frames_in.value(), 20u);
  EXPECT_EQ(service.metrics().frames_stored.value(), 20u);
}

class HttpTest : public ServeTest {
 protected:
  void SetUp() override {
    ServeTest::SetUp();
    ServiceConfig config =
        testing::test_config(server_, dir_ / "spool", "s3cret");
    config.http.max_upload_bytes = 1 << 20;
    config.http.max_pixels = 400 * 400;  // the samples are smaller
    service_ = std::make_unique<Service>(config);
    service_->start();
    http_ =
        std::make_unique<httplib::Client>("127.0.0.1", service_->http_port());
    http_->set_read_timeout(30, 0);
  }

  httplib::Result post(const std::string& body,
                       const std::string& token = "s3cret",
                       const std::string& type = "application/octet-stream") {
    httplib::Headers headers;
    if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    return http_->Post("/v1/infer?source=bench&name=x", headers, body, type);
  }

  std::string error_of(const httplib::Result& reply) {
    return nlohmann::json::parse(reply->body).at("error");
  }

  std::unique_ptr<Service> service_;
  std::unique_ptr<httplib::Client> http_;
};

TEST_F(HttpTest, BadImagesGetA4xxNamingTheCauseAndTheServiceCarriesOn) {
  const std::string jpeg = body_of(testing::sample_images(1)[0]);

  auto not_image = post("hello, I am not an image");
  ASSERT_TRUE(not_image);
  EXPECT_EQ(not_image->status, 415);
  EXPECT_THAT(error_of(not_image), HasSubstr("not an image format"));

  auto truncated = post(jpeg.substr(0, jpeg.size() / 2));
  ASSERT_TRUE(truncated);
  EXPECT_EQ(truncated->status, 400);
  EXPECT_THAT(error_of(truncated), HasSubstr("truncated"));

  auto empty = post("");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->status, 400);
  EXPECT_THAT(error_of(empty), HasSubstr("empty"));

  // 512 x 512 pixels, over the limit of 400 x 400.
  std::vector<std::uint8_t> big_png;
  cv::imencode(".png", cv::Mat(512, 512, CV_8UC1, cv::Scalar(7)), big_png);
  auto too_many_pixels = post(std::string(big_png.begin(), big_png.end()));
  ASSERT_TRUE(too_many_pixels);
  EXPECT_EQ(too_many_pixels->status, 413);
  EXPECT_THAT(error_of(too_many_pixels), HasSubstr("more than the limit"));

  auto too_many_bytes = post(std::string(2 << 20, 'x'));
  ASSERT_TRUE(too_many_bytes);
  EXPECT_EQ(too_many_bytes->status, 413);
  EXPECT_THAT(error_of(too_many_bytes), HasSubstr("http.max_upload"));

  // What `curl --data-binary` sends by default; cpp-httplib caps it.
  ASSERT_GT(jpeg.size(), 8192u);
  auto form = post(jpeg, "s3cret", "application/x-www-form-urlencoded");
  ASSERT_TRUE(form);
  EXPECT_EQ(form->status, 413);
  EXPECT_THAT(error_of(form), HasSubstr("Content-Type: image/jpeg"));

  // Still serving: a good image gets its verdict, and it is stored.
  auto good = post(jpeg);
  ASSERT_TRUE(good);
  ASSERT_EQ(good->status, 200) << good->body;
  nlohmann::json verdict = nlohmann::json::parse(good->body);
  auto detector = Detector::open(testing::tiny_model_path());
  Verdict expected =
      detector->predict(decode_image({jpeg.begin(), jpeg.end()}, "expected"));
  EXPECT_NEAR(verdict.at("pred_score").get<float>(), expected.pred_score, 1e-5);
  EXPECT_EQ(verdict.at("source"), "bench");
  // As a multipart form too (curl -F image=@part.jpg).
  auto multipart = http_->Post(
      "/v1/infer", {{"Authorization", "Bearer s3cret"}},
      httplib::MultipartFormDataItems{{"image", jpeg, "part.jpg", ""}});
  ASSERT_TRUE(multipart);
  ASSERT_EQ(multipart->status, 200) << multipart->body;
  nlohmann::json second = nlohmann::json::parse(multipart->body);
  EXPECT_EQ(second.at("pred_score"), verdict.at("pred_score"));
  EXPECT_EQ(second.at("source"), "http");

  ASSERT_TRUE(wait_until(
      [&] { return service_->metrics().frames_stored.value() == 2; }));
  storage::Record stored = client_.read_record(storage::kFramesBucket, "bench",
                                               verdict.at("timestamp_us"));
  EXPECT_EQ(stored.labels.at("frame_id"), verdict.at("frame_id"));
  EXPECT_EQ(std::string(stored.data.begin(), stored.data.end()), jpeg);
  stored = client_.read_record(storage::kFramesBucket, "http",
                               second.at("timestamp_us"));
  EXPECT_EQ(stored.labels.at("origin"), "part.jpg");
  EXPECT_EQ(service_->metrics().frames_failed.value(), 3u);
  EXPECT_EQ(http_->Get("/healthz")->status, 200);
}

TEST_F(HttpTest, WritesWithoutTheTokenAreRefused) {
  const std::string jpeg = body_of(testing::sample_images(1)[0]);

  auto anonymous = post(jpeg, "");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  EXPECT_THAT(error_of(anonymous), HasSubstr("token"));
  auto wrong = post(jpeg, "s3cret-not");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  EXPECT_EQ(service_->metrics().frames_in.value(), 0u);

  // Reading needs no token.
  auto health = http_->Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto metrics = http_->Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_THAT(metrics->body, HasSubstr("vigil_frames_in_total 0"));
  EXPECT_THAT(metrics->body, HasSubstr("vigil_spool_records 0"));
  ASSERT_TRUE(wait_until([&] { return service_->readiness().ready; }));
  auto ready = http_->Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
}

}  // namespace
}  // namespace vigil::service
