// The serve configuration: values read from YAML, and errors that name the
// file and the key.
#include "vigil/service/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "vigil/error.h"

namespace vigil::service {
namespace {

using ::testing::HasSubstr;

std::string error_of(const std::string& yaml) {
  try {
    validate(parse_config(yaml, "serve.yaml"));
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ServeConfig, ReadsEverySection) {
  ServiceConfig c = parse_config(R"(
model: tile.vigil
http: {host: 0.0.0.0, port: 9000, token: abc, max_upload: 2MiB}
storage: {url: "http://edge:8383", token: rs, frames_quota: 20GB,
          maps_quota: 512MiB, maps: all}
spool: {dir: /var/spool/vigil, max_size: 1GiB, fsync: false,
        verify_after_ms: 2500}
pipeline: {queue_size: 4, infer_threads: 2}
watch: {dir: /in, source: line-3, after: delete}
video:
  - {uri: "rtsp://cam-7/s", max_fps: 2.5}
  - {uri: "0"}
exit_when_done: true
)",
                                 "serve.yaml");
  EXPECT_EQ(c.model_path, "tile.vigil");
  EXPECT_EQ(c.http.port, 9000);
  EXPECT_EQ(c.http.max_upload_bytes, 2u * 1024 * 1024);
  EXPECT_EQ(c.storage.frames_quota_bytes, 20'000'000'000u);
  EXPECT_EQ(c.storage.maps_quota_bytes, 512u * 1024 * 1024);
  EXPECT_EQ(c.storage.maps, "all");
  EXPECT_EQ(c.spool.max_bytes, 1u << 30);
  EXPECT_FALSE(c.spool.fsync);
  EXPECT_EQ(c.spool.verify_after_ms, 2500);
  EXPECT_EQ(c.pipeline.infer_threads, 2);
  ASSERT_EQ(c.watch.size(), 1u);
  EXPECT_EQ(c.watch[0].after, "delete");
  ASSERT_EQ(c.video.size(), 2u);
  EXPECT_DOUBLE_EQ(c.video[0].max_fps, 2.5);
  EXPECT_EQ(c.video[1].uri, "0");
  EXPECT_TRUE(c.exit_when_done);
  EXPECT_NO_THROW(validate(c));
}

TEST(ServeConfig, ErrorsNameTheFileAndTheKey) {
  EXPECT_THAT(error_of("model: m\nspool: {max_size: lots}"),
              HasSubstr("serve.yaml: spool.max_size: expected a size such "
                        "as 4GiB, got 'lots'"));
  EXPECT_THAT(error_of("model: m\nhttp: {prot: 80}"),
              HasSubstr("serve.yaml: http.prot: unknown key"));
  EXPECT_THAT(error_of("model: m\nhttp: {port: eighty}"),
              HasSubstr("http.port: expected an integer, got 'eighty'"));
  EXPECT_THAT(error_of("model: m\nwatch: [{dir: /in}, {dri: /x}]"),
              HasSubstr("watch[1].dri: unknown key"));
  EXPECT_THAT(error_of("model: m\nwatch: {dir: /in, after: keep}"),
              HasSubstr("watch[0].after: expected move, delete or leave"));
  EXPECT_THAT(error_of("model: m\nstorage: {maps: some}"),
              HasSubstr("storage.maps: expected anomalous, all or none"));
  EXPECT_THAT(error_of("model: m\nstorage: {frames_quota: 0}"),
              HasSubstr("storage.frames_quota: must be positive"));
  EXPECT_THAT(error_of("model: m\nspool: {max_size: 0B}"),
              HasSubstr("spool.max_size: must be positive"));
  EXPECT_THAT(error_of("model: m\nspool: {verify_after_ms: -1}"),
              HasSubstr("spool.verify_after_ms: must be >= 0"));
  EXPECT_THAT(error_of("http: {port: 80}"), HasSubstr("model: missing"));
  EXPECT_THAT(error_of("model: [unclosed"), HasSubstr("not valid YAML"));
}

TEST(ServeConfig, SizesTakeDecimalAndBinaryUnits) {
  EXPECT_EQ(parse_size("123", "k"), 123u);
  EXPECT_EQ(parse_size("64kB", "k"), 64'000u);
  EXPECT_EQ(parse_size("1.5 GiB", "k"), 1610612736u);
  EXPECT_THROW(parse_size("-1GB", "k"), Error);
  EXPECT_THROW(parse_size("5 parsecs", "k"), Error);
}

}  // namespace
}  // namespace vigil::service
