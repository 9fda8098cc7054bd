// A real ReductStore server for tests: its own loopback port, a temporary
// data path and an API token, stopped (SIGTERM, then wait) on destruction.
//
//   vigil::testing::ReductServer server;      // throws if it cannot start
//   vigil::storage::ReductClient client(server.client_options());
//   ...
//   server.kill();     // as a crash would
//   server.start();    // same port, same data
//
// The binary is $VIGIL_REDUCTSTORE, else the newest
// $VIGIL_DEPS/reductstore-<version>/bin/reductstore (VIGIL_DEPS defaults to
// /opt/vigil-deps). When there is none the constructor throws, naming
// scripts/setup.sh --storage: storage tests fail rather than skip.
//
// Not thread-safe; use from the test's thread.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>

#include "support/test_support.h"
#include "vigil/storage/reduct_client.h"

namespace vigil::testing {

class ReductServer {
 public:
  // Starts the server and waits until it answers /api/v1/alive.
  ReductServer();
  ~ReductServer();
  ReductServer(const ReductServer&) = delete;
  ReductServer& operator=(const ReductServer&) = delete;

  // Starts the server again on the same port and data path; no-op when it
  // is running. Throws std::runtime_error with the server's log when it
  // does not come up.
  void start();
  // SIGTERM, then waits for the exit (SIGKILL after 10 s).
  void stop();
  // SIGKILL, as a crash or power cut would; nothing is flushed.
  void kill();
  bool running() const { return pid_ > 0; }

  std::string url() const;
  int port() const { return port_; }
  const std::string& api_token() const { return api_token_; }
  std::filesystem::path data_path() const { return dir_ / "data"; }
  // Options for a client of this server, with its token.
  storage::ClientOptions client_options() const;

  // The binary the tests use; throws std::runtime_error when none is
  // installed.
  static std::filesystem::path binary();

 private:
  void wait_until_alive();
  void wait_for_exit(int timeout_ms);
  std::string log_tail() const;

  TempDir dir_;
  int port_ = 0;
  std::string api_token_;
  pid_t pid_ = -1;
};

}  // namespace vigil::testing
