#include "storage/reduct_server.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

extern char** environ;

namespace vigil::testing {
namespace {

namespace fs = std::filesystem;

// A port the kernel says is free now; the server binds it a moment later.
int free_loopback_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t size = sizeof(address);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&address), size) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
    if (fd >= 0) close(fd);
    throw std::runtime_error("cannot find a free loopback port");
  }
  close(fd);
  return ntohs(address.sin_port);
}

std::string random_token() {
  std::random_device device;
  std::ostringstream token;
  token << "vigil-test-" << std::hex << device() << device();
  return token.str();
}

// "1.21.4" -> {1, 21, 4}, for ordering installed versions.
std::vector<int> version_of(const fs::path& folder) {
  static const std::regex pattern(R"(reductstore-(\d+)\.(\d+)\.(\d+))");
  std::smatch match;
  std::string name = folder.filename().string();
  if (!std::regex_match(name, match, pattern)) return {};
  return {std::stoi(match[1]), std::stoi(match[2]), std::stoi(match[3])};
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

// Our environment without RS_* settings (which could clash with ours),
// plus the server's configuration.
std::vector<std::string> server_environment(int port, const fs::path& data,
                                            const std::string& token) {
  std::vector<std::string> env;
  for (char** var = environ; *var != nullptr; ++var) {
    if (std::string(*var).rfind("RS_", 0) != 0) env.emplace_back(*var);
  }
  env.push_back("RS_HOST=127.0.0.1");
  env.push_back("RS_PORT=" + std::to_string(port));
  env.push_back("RS_DATA_PATH=" + data.string());
  env.push_back("RS_API_TOKEN=" + token);
  env.push_back("RS_LOG_LEVEL=INFO");
  return env;
}

// In the child: stdout and stderr to `log`, then exec. Only async-signal
// -safe calls between fork and exec.
[[noreturn]] void exec_server(const std::string& binary, const char* log,
                              char** argv, char** envp) {
  int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd >= 0) {
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
  }
  execve(binary.c_str(), argv, envp);
  _exit(127);
}

}  // namespace

fs::path ReductServer::binary() {
  std::string explicit_binary = env_or("VIGIL_REDUCTSTORE", "");
  if (!explicit_binary.empty()) {
    if (access(explicit_binary.c_str(), X_OK) == 0) return explicit_binary;
    throw std::runtime_error("VIGIL_REDUCTSTORE=" + explicit_binary +
                             " is not an executable file");
  }

  fs::path deps = env_or("VIGIL_DEPS", "/opt/vigil-deps");
  fs::path best;
  std::vector<int> best_version;
  std::error_code ignored;
  for (const auto& folder : fs::directory_iterator(deps, ignored)) {
    fs::path candidate = folder.path() / "bin" / "reductstore";
    std::vector<int> version = version_of(folder.path());
    if (version.empty() || access(candidate.c_str(), X_OK) != 0) continue;
    if (version > best_version) best = candidate, best_version = version;
  }
  if (best.empty()) {
    throw std::runtime_error(
        "no ReductStore server: none under " + deps.string() +
        "/reductstore-<version>/bin and VIGIL_REDUCTSTORE is unset; install "
        "it with `scripts/setup.sh --storage`");
  }
  return best;
}

ReductServer::ReductServer()
    : port_(free_loopback_port()), api_token_(random_token()) {
  fs::create_directories(data_path());
  start();
}

ReductServer::~ReductServer() { stop(); }

std::string ReductServer::url() const {
  return "http://127.0.0.1:" + std::to_string(port_);
}

storage::ClientOptions ReductServer::client_options() const {
  storage::ClientOptions options;
  options.url = url();
  options.api_token = api_token_;
  return options;
}

void ReductServer::start() {
  if (running()) return;
  const std::string path = binary().string();
  const std::string log = (dir_ / "server.log").string();

  std::vector<std::string> env =
      server_environment(port_, data_path(), api_token_);
  std::vector<char*> envp;
  for (std::string& var : env) envp.push_back(var.data());
  envp.push_back(nullptr);
  std::string name = "reductstore";
  char* argv[] = {name.data(), nullptr};

  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed for " + path);
  if (pid_ == 0) exec_server(path, log.c_str(), argv, envp.data());
  wait_until_alive();
}

void ReductServer::wait_until_alive() {
  storage::ClientOptions options = client_options();
  options.connect_timeout_ms = 200;
  options.read_timeout_ms = 1000;
  storage::ReductClient client(options);

  // A start-up guard, not a measurement: a cold server on a busy machine
  // may need seconds to open its data path.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("reductstore " + binary().string() +
                               " exited at start-up; its log:\n" + log_tail());
    }
    if (client.alive()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill();
  throw std::runtime_error("reductstore did not answer on " + url() +
                           " within 30 s; its log:\n" + log_tail());
}

void ReductServer::stop() {
  if (!running()) return;
  ::kill(pid_, SIGTERM);
  wait_for_exit(10000);
}

void ReductServer::kill() {
  if (!running()) return;
  ::kill(pid_, SIGKILL);
  wait_for_exit(10000);
}

void ReductServer::wait_for_exit(int timeout_ms) {
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (waitpid(pid_, nullptr, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
}

std::string ReductServer::log_tail() const {
  std::ifstream file(dir_ / "server.log");
  std::string text((std::istreambuf_iterator<char>(file)),
                   std::istreambuf_iterator<char>());
  constexpr std::size_t kTail = 4000;
  return text.size() > kTail ? text.substr(text.size() - kTail) : text;
}

}  // namespace vigil::testing
