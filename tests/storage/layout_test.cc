// The buckets vigil keeps (layout.h) as a real ReductStore creates them.
#include "vigil/storage/layout.h"

#include <gtest/gtest.h>

#include "storage/reduct_server.h"

namespace vigil::storage {
namespace {

TEST(Layout, FramesAndMapsGetFifoQuotasAndPeopleAndModelsNone) {
  testing::ReductServer server;
  ReductClient client(server.client_options());

  ensure_buckets(client, {.frames_bytes = 5'000'000, .maps_bytes = 1'000'000});
  // A second start with other quotas keeps the buckets as they are.
  ensure_buckets(client, {.frames_bytes = 7'000'000, .maps_bytes = 3'000'000});

  BucketSettings frames = client.get_bucket(kFramesBucket).settings;
  EXPECT_EQ(frames.quota_type, QuotaType::kFifo);
  EXPECT_EQ(frames.quota_size_bytes, 5'000'000u);
  EXPECT_EQ(frames.max_block_records, kFifoBlockRecords);
  BucketSettings maps = client.get_bucket(kMapsBucket).settings;
  EXPECT_EQ(maps.quota_type, QuotaType::kFifo);
  EXPECT_EQ(maps.quota_size_bytes, 1'000'000u);
  EXPECT_EQ(maps.max_block_records, kFifoBlockRecords);
  for (const char* bucket : {kAnnotationsBucket, kModelsBucket}) {
    BucketSettings settings = client.get_bucket(bucket).settings;
    EXPECT_EQ(settings.quota_type, QuotaType::kNone) << bucket;
    EXPECT_EQ(settings.quota_size_bytes.value_or(0), 0u) << bucket;
  }
}

}  // namespace
}  // namespace vigil::storage
