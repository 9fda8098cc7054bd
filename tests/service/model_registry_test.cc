// Models in ReductStore against the real server: push, list, pull and
// promote (service/model_registry.h, storage/model_store.h).
#include "vigil/service/model_registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "service/service_support.h"
#include "storage/reduct_server.h"
#include "support/test_support.h"
#include "vigil/image_io.h"
#include "vigil/storage/model_store.h"
#include "vigil/tensor_file.h"

namespace vigil::service {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::ReductServer;
using testing::TempDir;

// The tiny model with another version and these metrics in its header.
std::string model_version(const TempDir& dir, const std::string& version,
                          const nlohmann::json& metrics) {
  TensorFile file = TensorFile::load(testing::tiny_model_path());
  nlohmann::json header = nlohmann::json::parse(file.metadata.at("vigil"));
  header["version"] = version;
  header["metrics"] = metrics;
  file.metadata["vigil"] = header.dump();
  std::string path = (dir / ("tiny-" + version + ".vigil")).string();
  file.save(path);
  return path;
}

// The first word `sha256sum` prints for `path`.
std::string sha256sum(const fs::path& path) {
  std::string output;
  EXPECT_EQ(testing::run_command("sha256sum '" + path.string() + "'", &output),
            0);
  return output.substr(0, 64);
}

std::vector<std::string> versions_of(
    const std::vector<storage::StoredModel>& models) {
  std::vector<std::string> versions;
  for (const auto& stored : models) versions.push_back(stored.model.version);
  return versions;
}

class ModelRegistryTest : public ::testing::Test {
 protected:
  ReductServer server_;
  TempDir dir_;
  storage::ReductClient client_{server_.client_options()};
};

TEST_F(ModelRegistryTest, PushListPullGivesTheSameBytesAndLabels) {
  const std::string path =
      model_version(dir_, "v1", {{"image_auroc", 0.875}, {"aupro", 0.5}});
  push_model_file(client_, path, {});

  std::vector<storage::StoredModel> listed = storage::list_models(client_, {});
  ASSERT_EQ(listed.size(), 1u);
  const storage::ModelRecord& m = listed[0].model;
  EXPECT_EQ(m.name, "tiny-padim");
  EXPECT_EQ(m.version, "v1");
  EXPECT_EQ(m.model_type, "padim");
  EXPECT_EQ(m.status, "candidate");
  fs::path backbone =
      testing::shared_dir() / "backbones" / "mobilenetv2-fp32-dequantized.onnx";
  EXPECT_EQ(m.backbone_sha256, sha256sum(backbone));
  EXPECT_EQ(m.metrics,
            nlohmann::json({{"image_auroc", 0.875}, {"aupro", 0.5}}));

  const std::string copy = (dir_ / "pulled.vigil").string();
  storage::StoredModel pulled =
      pull_model_file(client_, "tiny-padim", "", copy);
  EXPECT_EQ(pulled.model.version, "v1");
  EXPECT_EQ(read_file_bytes(copy), read_file_bytes(path));
  EXPECT_FALSE(fs::exists(copy + ".part"));
}

TEST_F(ModelRegistryTest, AVersionIsPushedOnceAndLatestIsTheLastPushed) {
  const std::string v1 = model_version(dir_, "v1", {});
  const std::string v2 = model_version(dir_, "v2", {});
  push_model_file(client_, v1, {});
  push_model_file(client_, v2, {});
  try {
    push_model_file(client_, v1, {});
    FAIL() << "pushed v1 twice";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("tiny-padim version v1"));
    EXPECT_THAT(e.what(), HasSubstr("already stored"));
  }
  // A name given on push replaces the file's own.
  push_model_file(client_, v1, {.name = "other", .status = "production"});

  const std::string latest = (dir_ / "latest.vigil").string();
  pull_model_file(client_, "tiny-padim", "", latest);
  EXPECT_EQ(read_file_bytes(latest), read_file_bytes(v2));
  const std::string first = (dir_ / "first.vigil").string();
  pull_model_file(client_, "tiny-padim", "v1", first);
  EXPECT_EQ(read_file_bytes(first), read_file_bytes(v1));

  EXPECT_THAT(
      versions_of(storage::list_models(client_, {.name = "tiny-padim"})),
      ElementsAre("v1", "v2"));
  auto in_production = storage::list_models(client_, {.status = "production"});
  ASSERT_EQ(in_production.size(), 1u);
  EXPECT_EQ(in_production[0].model.name, "other");
  EXPECT_THROW(pull_model_file(client_, "tiny-padim", "v9", first), Error);
}

TEST_F(ModelRegistryTest, PromoteRetiresTheVersionInProduction) {
  for (const char* version : {"v1", "v2", "v3"}) {
    push_model_file(client_, model_version(dir_, version, {}), {});
  }
  auto statuses = [&] {
    std::vector<std::string> result;
    for (const auto& stored :
         storage::list_models(client_, {.name = "tiny-padim"})) {
      result.push_back(stored.model.status);
    }
    return result;
  };

  EXPECT_TRUE(storage::promote_model(client_, "tiny-padim", "v1").empty());
  EXPECT_THAT(statuses(), ElementsAre("production", "candidate", "candidate"));
  EXPECT_THAT(storage::promote_model(client_, "tiny-padim", "v2"),
              ElementsAre("v1"));
  EXPECT_THAT(statuses(), ElementsAre("retired", "production", "candidate"));
  // Rolling back is promoting the older version again.
  EXPECT_THAT(storage::promote_model(client_, "tiny-padim", "v1"),
              ElementsAre("v2"));
  EXPECT_THAT(statuses(), ElementsAre("production", "retired", "candidate"));
  EXPECT_THROW(storage::promote_model(client_, "tiny-padim", "v7"), Error);
}

TEST_F(ModelRegistryTest, AServerThatIsDownIsNamedInTheError) {
  const std::string url = server_.url();
  server_.stop();
  try {
    storage::list_models(client_, {});
    FAIL() << "listed models with the server down";
  } catch (const storage::StorageError& e) {
    EXPECT_EQ(e.status(), 0);
    EXPECT_THAT(e.what(), HasSubstr(url));
    EXPECT_THAT(e.what(), HasSubstr("unreachable"));
  }
}

// Some other web server on the store's address: its 404 must not read as
// "no models yet".
TEST(ModelRegistryNotReductStoreTest, IsAnErrorNamingTheUrl) {
  httplib::Server other;
  other.set_error_handler([](const httplib::Request&, httplib::Response& r) {
    r.status = 404;
    r.set_content("<html>not found</html>", "text/html");
  });
  other.set_keep_alive_max_count(1);  // no idle connection to wait for
  int port = other.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread serving([&] { other.listen_after_bind(); });
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  storage::ClientOptions options;
  options.url = url;
  storage::ReductClient client(options);
  try {
    storage::list_models(client, {});
    ADD_FAILURE() << "a 404 from another server read as an empty store";
  } catch (const storage::StorageError& e) {
    EXPECT_THAT(e.what(), HasSubstr(url));
  }
  other.stop();
  serving.join();
}

}  // namespace
}  // namespace vigil::service
