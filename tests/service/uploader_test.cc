// The Uploader against a real ReductStore: an acknowledged record stays in
// the spool until a query finds it, and one the server lost after
// acknowledging it is sent again, counted once.
#include "vigil/service/uploader.h"

#include <gtest/gtest.h>

#include "service/service_support.h"
#include "storage/reduct_server.h"
#include "support/test_support.h"
#include "vigil/storage/layout.h"

namespace vigil::service {
namespace {

using testing::wait_until;

SpoolItem frame(std::uint64_t timestamp_us) {
  storage::FrameLabels labels{.model = "m", .pred_label = true};
  return {storage::kFramesBucket, "cam",
          storage::frame_record(timestamp_us, {1, 2, 3}, "image/png", labels)};
}

std::vector<std::uint64_t> stored_frames(storage::ReductClient& client) {
  storage::QueryOptions options;
  options.metadata_only = true;
  std::vector<std::uint64_t> timestamps;
  for (const storage::Record& record :
       client.query(storage::kFramesBucket, "cam", options)) {
    timestamps.push_back(record.timestamp_us);
  }
  return timestamps;
}

TEST(Uploader, ARecordTheServerLostAfterAcknowledgingItIsSentAgain) {
  testing::ReductServer server;
  testing::TempDir dir;
  Metrics metrics;
  Spool spool({.dir = (dir / "spool").string(), .fsync = false});
  Uploader uploader(
      spool, metrics,
      {.client = server.client_options(), .verify_after_ms = 1500});
  storage::ReductClient client(server.client_options());
  spool.put({frame(1), frame(2)});

  uploader.start();
  ASSERT_TRUE(wait_until([&] { return metrics.frames_stored.value() == 2; }));
  // What a crash just after the acknowledgement has been seen to do.
  client.remove_record(storage::kFramesBucket, "cam", 1);
  EXPECT_EQ(spool.record_count(), 2u);  // held until a query finds them

  ASSERT_TRUE(wait_until([&] { return spool.record_count() == 0; }));
  EXPECT_EQ(stored_frames(client), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(metrics.frames_stored.value(), 2u);  // counted once
  uploader.stop();
}

}  // namespace
}  // namespace vigil::service
