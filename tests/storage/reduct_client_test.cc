// ReductClient against a real ReductStore server (tests/storage/
// reduct_server.h). One server serves the whole suite; each test works in a
// bucket named after itself.
#include "vigil/storage/reduct_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <regex>
#include <set>

#include "storage/reduct_server.h"

namespace vigil::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::uint8_t> every_byte() {
  std::vector<std::uint8_t> bytes(256);
  for (int i = 0; i < 256; ++i) bytes[i] = static_cast<std::uint8_t>(i);
  return bytes;
}

// An octet-stream record without labels.
Record record(std::uint64_t timestamp_us, std::vector<std::uint8_t> data) {
  Record result;
  result.timestamp_us = timestamp_us;
  result.data = std::move(data);
  return result;
}

std::vector<std::uint64_t> timestamps(const std::vector<Record>& records) {
  std::vector<std::uint64_t> result;
  for (const Record& record : records) result.push_back(record.timestamp_us);
  return result;
}

// Runs `call`, which must throw StorageError, and returns the error.
template <typename Call>
StorageError storage_error(Call call) {
  try {
    call();
  } catch (const StorageError& error) {
    return error;
  }
  ADD_FAILURE() << "no StorageError thrown";
  return StorageError("", -1, "");
}

class ReductClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!server_) server_ = std::make_unique<testing::ReductServer>();
    client_ = std::make_unique<ReductClient>(server_->client_options());
    bucket_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    client_->create_bucket(bucket_, {});
  }

  static void TearDownTestSuite() { server_.reset(); }

  static std::unique_ptr<testing::ReductServer> server_;
  std::unique_ptr<ReductClient> client_;
  std::string bucket_;
};

std::unique_ptr<testing::ReductServer> ReductClientTest::server_;

TEST_F(ReductClientTest, InfoNamesTheInstalledVersionAndServerIsAlive) {
  ServerInfo info = client_->info();

  EXPECT_TRUE(client_->alive());
  EXPECT_GE(info.bucket_count, 1u);
  // The install folder is reductstore-<version>; the server must agree.
  std::smatch match;
  std::string folder =
      testing::ReductServer::binary().parent_path().parent_path().string();
  if (std::regex_search(folder, match,
                        std::regex(R"(reductstore-([\d.]+)$)"))) {
    EXPECT_EQ(info.version, match[1].str());
  } else {
    EXPECT_TRUE(std::regex_match(info.version, std::regex(R"(\d+\.\d+\.\d+)")))
        << info.version;
  }
}

TEST_F(ReductClientTest, CreatesBucketWithFifoQuotaAndReadsSettingsBack) {
  BucketSettings settings;
  settings.quota_type = QuotaType::kFifo;
  settings.quota_size_bytes = 10'000'000;
  settings.max_block_size_bytes = 1'000'000;
  settings.max_block_records = 256;
  client_->create_bucket("fifo-frames", settings);

  BucketInfo bucket = client_->get_bucket("fifo-frames");

  EXPECT_EQ(bucket.name, "fifo-frames");
  EXPECT_EQ(bucket.entry_count, 0u);
  EXPECT_EQ(bucket.settings.quota_type, QuotaType::kFifo);
  EXPECT_EQ(bucket.settings.quota_size_bytes, 10'000'000u);
  EXPECT_EQ(bucket.settings.max_block_size_bytes, 1'000'000u);
  EXPECT_EQ(bucket.settings.max_block_records, 256u);
}

TEST_F(ReductClientTest, FifoQuotaDropsTheOldestRecords) {
  // 40 records of 10 kB into a 100 kB quota with 20 kB blocks: the oldest
  // blocks must go, the newest must stay.
  BucketSettings settings;
  settings.quota_type = QuotaType::kFifo;
  settings.quota_size_bytes = 100'000;
  settings.max_block_size_bytes = 20'000;
  client_->create_bucket("fifo-small", settings);
  for (std::uint64_t i = 1; i <= 40; ++i) {
    client_->write_record("fifo-small", "cam",
                          record(i, std::vector<std::uint8_t>(10'000, 7)));
  }

  BucketInfo bucket = client_->get_bucket("fifo-small");

  EXPECT_LE(bucket.size_bytes, 100'000u + 20'000u);
  EXPECT_FALSE(client_->has_record("fifo-small", "cam", 1));
  EXPECT_TRUE(client_->has_record("fifo-small", "cam", 40));
  EXPECT_GT(bucket.oldest_record_us, 1u);
  EXPECT_EQ(bucket.latest_record_us, 40u);
}

TEST_F(ReductClientTest, ExistingBucketIs409WithTheServersMessage) {
  StorageError error =
      storage_error([&] { client_->create_bucket(bucket_, {}); });

  EXPECT_EQ(error.status(), 409);
  EXPECT_EQ(error.server_message(), "Bucket '" + bucket_ + "' already exists");
  EXPECT_EQ(std::string(error.what()),
            "reductstore " + server_->url() + " POST /api/v1/b/" + bucket_ +
                ": 409 Bucket '" + bucket_ + "' already exists");
  EXPECT_NO_THROW(client_->create_bucket(bucket_, {}, /*exist_ok=*/true));
}

TEST_F(ReductClientTest, WritesAndReadsBackBytesTypeAndLabels) {
  Record record{1'700'000'000'000'000,
                every_byte(),
                "image/png",
                {{"label", "anomalous"}, {"pred_score", "0.93"}}};
  client_->write_record(bucket_, "cam1", record);

  Record back = client_->read_record(bucket_, "cam1", record.timestamp_us);

  EXPECT_EQ(back.timestamp_us, record.timestamp_us);
  EXPECT_EQ(back.data, record.data);
  EXPECT_EQ(back.content_type, "image/png");
  EXPECT_EQ(back.labels, record.labels);
  EXPECT_TRUE(client_->has_record(bucket_, "cam1", record.timestamp_us));
  EXPECT_FALSE(client_->has_record(bucket_, "cam1", record.timestamp_us + 1));
}

TEST_F(ReductClientTest, SecondWriteOfATimestampIs409) {
  client_->write_record(bucket_, "cam1", record(5, {1}));

  StorageError error = storage_error(
      [&] { client_->write_record(bucket_, "cam1", record(5, {2})); });

  EXPECT_EQ(error.status(), 409);
  EXPECT_EQ(error.server_message(), "A record with timestamp 5 already exists");
}

TEST_F(ReductClientTest, BatchWriteThenQueryATimeRange) {
  std::vector<Record> records;
  for (std::uint64_t ts = 1000; ts <= 10000; ts += 1000) {
    std::uint8_t byte = static_cast<std::uint8_t>(ts / 1000);
    records.push_back(
        {ts,
         std::vector<std::uint8_t>(ts / 1000, byte),
         "image/jpeg",
         {{"index", std::to_string(ts / 1000)}, {"source", "folder/a,b.jpg"}}});
  }
  std::swap(records[0], records[9]);  // the client must not need order

  EXPECT_TRUE(client_->write_batch(bucket_, "cam", records).empty());
  QueryOptions range;
  range.start_us = 3000;
  range.stop_us = 7000;
  std::vector<Record> found = client_->query(bucket_, "cam", range);

  // [start, stop): 3000..6000, in time order, each intact.
  ASSERT_THAT(timestamps(found), ElementsAre(3000, 4000, 5000, 6000));
  for (const Record& record : found) {
    std::uint64_t k = record.timestamp_us / 1000;
    EXPECT_EQ(record.data, std::vector<std::uint8_t>(k, k));
    EXPECT_EQ(record.content_type, "image/jpeg");
    EXPECT_EQ(record.labels, (Labels{{"index", std::to_string(k)},
                                     {"source", "folder/a,b.jpg"}}));
  }
}

TEST_F(ReductClientTest, BatchWriteReportsTheRecordsItRefused) {
  client_->write_record(bucket_, "cam", record(5, {1}));

  auto errors = client_->write_batch(
      bucket_, "cam", {record(5, {2}), record(6, {3}), record(7, {})});

  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors.at(5).status, 409);
  EXPECT_EQ(errors.at(5).message, "A record with timestamp 5 already exists");
  EXPECT_EQ(client_->read_record(bucket_, "cam", 5).data,
            std::vector<std::uint8_t>{1});
  EXPECT_EQ(client_->read_record(bucket_, "cam", 6).data,
            std::vector<std::uint8_t>{3});
  EXPECT_TRUE(client_->read_record(bucket_, "cam", 7).data.empty());
}

class QueryWhenTest : public ReductClientTest {
 protected:
  // Ten records; odd timestamps anomalous with score ts/10.
  void SetUp() override {
    ReductClientTest::SetUp();
    std::vector<Record> records;
    for (std::uint64_t ts = 1; ts <= 10; ++ts) {
      bool odd = ts % 2 == 1;
      records.push_back({ts,
                         {static_cast<std::uint8_t>(ts)},
                         "text/plain",
                         {{"label", odd ? "anomalous" : "normal"},
                          {"score", std::to_string(ts / 10.0)}}});
    }
    ASSERT_TRUE(client_->write_batch(bucket_, "cam", records).empty());
  }
};

TEST_F(QueryWhenTest, SelectsByLabel) {
  QueryOptions options;
  options.when = {{"&label", {{"$eq", "anomalous"}}}};

  EXPECT_THAT(timestamps(client_->query(bucket_, "cam", options)),
              ElementsAre(1, 3, 5, 7, 9));
}

TEST_F(QueryWhenTest, CombinesConditionsAndCountsTheLimitAfterThem) {
  QueryOptions options;
  options.when = {
      {"$and",
       {{{"&label", {{"$eq", "anomalous"}}}}, {{"&score", {{"$gt", 0.2}}}}}}};
  options.limit = 2;

  EXPECT_THAT(timestamps(client_->query(bucket_, "cam", options)),
              ElementsAre(3, 5));
}

TEST_F(QueryWhenTest, LimitWithoutConditionTakesTheFirstRecords) {
  QueryOptions options;
  options.limit = 3;

  EXPECT_THAT(timestamps(client_->query(bucket_, "cam", options)),
              ElementsAre(1, 2, 3));
}

TEST_F(QueryWhenTest, MetadataOnlyLeavesDataEmpty) {
  QueryOptions options;
  options.metadata_only = true;
  options.start_us = 10;

  std::vector<Record> found = client_->query(bucket_, "cam", options);

  ASSERT_EQ(found.size(), 1u);
  EXPECT_TRUE(found[0].data.empty());
  EXPECT_EQ(found[0].labels.at("label"), "normal");
}

TEST_F(QueryWhenTest, EmptyRangeGivesNoRecords) {
  QueryOptions options;
  options.start_us = 100;
  options.stop_us = 200;

  EXPECT_TRUE(client_->query(bucket_, "cam", options).empty());
}

TEST_F(ReductClientTest, UpdateLabelsAddsReplacesAndRemoves) {
  client_->write_record(
      bucket_, "cam",
      {1,
       {9},
       "image/png",
       {{"label", "normal"}, {"model", "padim"}, {"draft", "yes"}}});

  client_->update_labels(
      bucket_, "cam", 1,
      {{"label", "anomalous"}, {"by", "ana"}, {"draft", ""}});

  Record back = client_->read_record(bucket_, "cam", 1);
  EXPECT_EQ(
      back.labels,
      (Labels{{"label", "anomalous"}, {"model", "padim"}, {"by", "ana"}}));
  EXPECT_EQ(back.data, std::vector<std::uint8_t>{9});
}

TEST_F(ReductClientTest, RemovedRecordIsGone) {
  client_->write_record(bucket_, "cam", record(1, {1}));
  client_->write_record(bucket_, "cam", record(2, {2}));

  client_->remove_record(bucket_, "cam", 1);

  EXPECT_EQ(
      storage_error([&] { client_->read_record(bucket_, "cam", 1); }).status(),
      404);
  EXPECT_THAT(timestamps(client_->query(bucket_, "cam")), ElementsAre(2));
}

TEST_F(ReductClientTest, RemovedBucketIsGoneOrGoing) {
  client_->write_record(bucket_, "cam", record(1, {1}));

  client_->remove_bucket(bucket_);

  // The server deletes the data in the background: 409 "is being deleted"
  // until it is done, 404 after.
  int status = storage_error([&] { client_->get_bucket(bucket_); }).status();
  EXPECT_TRUE(status == 404 || status == 409) << status;
}

TEST_F(ReductClientTest, GetBucketListsEntries) {
  client_->write_record(bucket_, "cam1", record(1, {1, 2, 3}));
  client_->write_record(bucket_, "cam2", record(2, {4}));
  client_->write_record(bucket_, "cam2", record(3, {5}));

  BucketInfo bucket = client_->get_bucket(bucket_);

  ASSERT_EQ(bucket.entries.size(), 2u);
  std::map<std::string, std::uint64_t> counts;
  for (const EntryInfo& entry : bucket.entries) {
    counts[entry.name] = entry.record_count;
  }
  EXPECT_EQ(counts,
            (std::map<std::string, std::uint64_t>{{"cam1", 1}, {"cam2", 2}}));
  EXPECT_EQ(bucket.oldest_record_us, 1u);
  EXPECT_EQ(bucket.latest_record_us, 3u);
}

TEST_F(ReductClientTest, RequestWithoutTokenIs401) {
  ClientOptions options = server_->client_options();
  options.api_token.clear();
  ReductClient anonymous(options);

  StorageError error = storage_error([&] { anonymous.info(); });

  EXPECT_EQ(error.status(), 401);
  EXPECT_EQ(error.server_message(), "No bearer token in request header");
  EXPECT_TRUE(anonymous.alive());  // health needs no token
}

TEST_F(ReductClientTest, RequestWithWrongTokenIs401) {
  ClientOptions options = server_->client_options();
  options.api_token = "not-the-token";
  ReductClient stranger(options);

  StorageError error = storage_error(
      [&] { stranger.write_record(bucket_, "cam", record(1, {1})); });

  EXPECT_EQ(error.status(), 401);
  EXPECT_EQ(error.server_message(), "Invalid token");
  EXPECT_FALSE(client_->has_record(bucket_, "cam", 1));
}

TEST(ReductClientDownTest, UnreachableServerIsStatusZeroNamingTheUrl) {
  // A port that was free a moment ago, with nothing listening.
  testing::ReductServer server;
  server.stop();
  ReductClient client(server.client_options());

  StorageError error = storage_error([&] { client.info(); });

  EXPECT_EQ(error.status(), 0);
  EXPECT_EQ(std::string(error.what()),
            "reductstore " + server.url() +
                " GET /api/v1/info: server unreachable (cannot connect)");
  EXPECT_FALSE(client.alive());
}

TEST(ReductServerRestartTest, RecordsOutliveAKillAndTheClientReconnects) {
  testing::ReductServer server;
  ReductClient client(server.client_options());
  client.create_bucket("frames", {});
  client.write_record("frames", "cam", record(1, {1, 2, 3}));

  server.kill();
  int status_while_down = storage_error([&] { client.info(); }).status();
  server.start();

  EXPECT_EQ(status_while_down, 0);
  EXPECT_EQ(client.read_record("frames", "cam", 1).data,
            (std::vector<std::uint8_t>{1, 2, 3}));
  client.write_record("frames", "cam", record(2, {4}));
  EXPECT_THAT(timestamps(client.query("frames", "cam")), ElementsAre(1, 2));
}

// Fails the calls whose numbers are in `failing` (counting from 0) as a
// dropped connection would, and passes the others to the real transport.
class FlakyTransport : public HttpTransport {
 public:
  FlakyTransport(const ClientOptions& options, std::set<int> failing)
      : real_(make_http_transport(options)), failing_(std::move(failing)) {}

  HttpResponse send(const HttpRequest& request) override {
    if (failing_.count(calls_++) > 0) {
      HttpResponse dropped;
      dropped.error = "connection lost while reading the response";
      return dropped;
    }
    return real_->send(request);
  }

 private:
  std::unique_ptr<HttpTransport> real_;
  std::set<int> failing_;
  int calls_ = 0;
};

TEST_F(ReductClientTest, InjectedNetworkFailureSurfacesAndNextCallWorks) {
  ClientOptions options = server_->client_options();
  ReductClient client(
      options, std::make_unique<FlakyTransport>(options, std::set<int>{0}));

  StorageError error = storage_error(
      [&] { client.write_record(bucket_, "cam", record(1, {1})); });
  client.write_record(bucket_, "cam", record(1, {1}));

  EXPECT_EQ(error.status(), 0);
  EXPECT_THAT(error.what(), HasSubstr("POST /api/v1/b/" + bucket_ +
                                      "/cam?ts=1: server unreachable"));
  EXPECT_TRUE(client_->has_record(bucket_, "cam", 1));
}

}  // namespace
}  // namespace vigil::storage
