#include "support/test_support.h"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <random>

namespace vigil::testing {
namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

}  // namespace

std::filesystem::path shared_dir() {
  return env_or("VIGIL_SHARED", env_or("VIGIL_DEFAULT_SHARED", "../shared"));
}

std::filesystem::path source_dir() { return env_or("VIGIL_SOURCE_DIR", "."); }

std::filesystem::path binary_dir() {
  return env_or("VIGIL_BINARY_DIR", "build");
}

std::string python() { return env_or("VIGIL_PYTHON", "python3"); }

TempDir::TempDir() {
  std::random_device device;
  std::filesystem::path base = std::filesystem::temp_directory_path();
  path_ = base / ("vigil-test-" + std::to_string(device()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

int run_command(const std::string& command, std::string* output) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  std::array<char, 4096> buffer;
  std::size_t count = 0;
  while ((count = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
    if (output != nullptr) output->append(buffer.data(), count);
  }
  int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace vigil::testing
