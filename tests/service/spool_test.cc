// The spool keeps records in order, byte for byte, across a restart; a
// half-written file is dropped; an unreadable one is set aside; a held one
// is kept but not offered.
#include "vigil/service/spool.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/test_support.h"
#include "vigil/service/pipeline.h"

namespace vigil::service {
namespace {

namespace fs = std::filesystem;

// append() rather than "f" + std::to_string(...), on which GCC 12 gives a
// false -Wrestrict warning once inlined here.
SpoolItem item(std::uint64_t timestamp_us, std::string payload) {
  return {"vigil-frames",
          "cam",
          {timestamp_us,
           std::vector<std::uint8_t>(payload.begin(), payload.end()),
           "image/png",
           {{"frame_id", std::string("f").append(std::to_string(timestamp_us))},
            {"origin", "a b, c=d"}}}};
}

TEST(Spool, KeepsRecordsInOrderAcrossARestart) {
  testing::TempDir dir;
  std::string binary("\0\x01\xff\n\r", 5);
  {
    Spool spool({.dir = (dir / "s").string(), .fsync = false});
    spool.put({item(30, "third?"), item(10, binary)});
    spool.put({item(20, "")});
    EXPECT_EQ(spool.record_count(), 3u);
  }
  // A put() cut short by a crash leaves a .tmp file, never acknowledged.
  std::ofstream(dir / "s" / "00000000000000000099.tmp") << "partial";

  Spool spool({.dir = (dir / "s").string(), .fsync = false});
  auto oldest = spool.oldest(10, 1 << 20, 0);
  ASSERT_EQ(oldest.size(), 3u);
  EXPECT_EQ(oldest[0].second.record.timestamp_us, 30u);  // spool order
  EXPECT_EQ(oldest[1].second.record.timestamp_us, 10u);
  EXPECT_EQ(oldest[2].second.record.timestamp_us, 20u);
  const storage::Record& r = oldest[1].second.record;
  EXPECT_EQ(std::string(r.data.begin(), r.data.end()), binary);
  EXPECT_EQ(r.content_type, "image/png");
  EXPECT_EQ(r.labels.at("origin"), "a b, c=d");
  EXPECT_EQ(oldest[1].second.entry, "cam");
  EXPECT_FALSE(fs::exists(dir / "s" / "00000000000000000099.tmp"));

  spool.remove(oldest[0].first);
  spool.put({item(40, "fourth")});  // numbered after the old ones
  oldest = spool.oldest(10, 1 << 20, 0);
  ASSERT_EQ(oldest.size(), 3u);
  EXPECT_EQ(oldest[0].second.record.timestamp_us, 10u);
  EXPECT_EQ(oldest[2].second.record.timestamp_us, 40u);
}

TEST(Spool, BatchesStopAtTheByteBudgetButTakeAtLeastOne) {
  testing::TempDir dir;
  Spool spool({.dir = dir.path().string(), .fsync = false});
  spool.put({item(1, std::string(1000, 'a')), item(2, std::string(1000, 'b'))});
  EXPECT_EQ(spool.oldest(10, 10, 0).size(), 1u);
  EXPECT_EQ(spool.oldest(10, 1 << 20, 0).size(), 2u);
  EXPECT_EQ(spool.oldest(1, 1 << 20, 0).size(), 1u);
}

TEST(Spool, AHeldRecordStaysButIsNotOfferedUntilReleased) {
  testing::TempDir dir;
  Spool spool({.dir = (dir / "s").string(), .fsync = false});
  spool.put({item(1, "a"), item(2, "b")});
  auto first = spool.oldest(10, 1 << 20, 0);
  ASSERT_EQ(first.size(), 2u);

  spool.hold(first[0].first);
  auto offered = spool.oldest(10, 1 << 20, 0);
  ASSERT_EQ(offered.size(), 1u);
  EXPECT_EQ(offered[0].second.record.timestamp_us, 2u);
  EXPECT_EQ(spool.record_count(), 2u);  // still on disk

  spool.hold(first[1].first);
  EXPECT_TRUE(spool.oldest(10, 1 << 20, 0).empty());
  spool.release(first[0].first);
  offered = spool.oldest(10, 1 << 20, 0);
  ASSERT_EQ(offered.size(), 1u);
  EXPECT_EQ(offered[0].second.record.timestamp_us, 1u);

  spool.remove(first[1].first);  // a held record can go
  EXPECT_EQ(spool.record_count(), 1u);
}

TEST(Spool, AnUnreadableRecordIsSetAside) {
  testing::TempDir dir;
  Spool spool({.dir = dir.path().string(), .fsync = false});
  spool.put({item(1, "good")});
  std::ofstream(dir / "00000000000000000001.rec", std::ios::trunc)
      << "{not json\n";
  EXPECT_TRUE(spool.oldest(10, 1 << 20, 0).empty());
  EXPECT_EQ(spool.record_count(), 0u);
  EXPECT_TRUE(fs::exists(dir / "failed" / "00000000000000000001.rec"));
  EXPECT_TRUE(fs::exists(dir / "failed" / "00000000000000000001.why"));
}

TEST(ImageType, IsJudgedByTheFirstBytes) {
  auto type = [](const std::string& s) {
    return sniff_image_type({s.begin(), s.end()});
  };
  EXPECT_EQ(type("\x89PNG\r\n\x1a\nrest"), "image/png");
  EXPECT_EQ(type("\xff\xd8\xff\xe0"), "image/jpeg");
  EXPECT_EQ(type("BM...."), "image/bmp");
  EXPECT_EQ(type(std::string("II*\0", 4)), "image/tiff");
  EXPECT_EQ(type("RIFF1234WEBPVP8 "), "image/webp");
  EXPECT_EQ(type("P5\n2 2\n255\n"), "image/x-portable-anymap");
  EXPECT_EQ(type("GIF89a"), "");
  EXPECT_EQ(type(""), "");
}

}  // namespace
}  // namespace vigil::service
