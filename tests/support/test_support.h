// Helpers shared by all test binaries: where the shared data is, temporary
// folders that clean up after themselves, the Python with the reference
// tools.
#pragma once

#include <filesystem>
#include <ostream>
#include <string>

namespace vigil::testing {

// ../shared beside the repository, or $VIGIL_SHARED when set.
std::filesystem::path shared_dir();
// The repository's root.
std::filesystem::path source_dir();
// The build folder (where `vigil` is).
std::filesystem::path binary_dir();
// The Python interpreter with numpy, scikit-learn, onnxruntime, openvino.
std::string python();

// A fresh folder under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const {
    return path_ / name;
  }

 private:
  std::filesystem::path path_;
};

// Runs a shell command, returns its exit code; stdout goes to `output`
// when given.
int run_command(const std::string& command, std::string* output = nullptr);

// A shared dataset and one of its defect types, as a test parameter;
// printed by its name, so that CTest's test names stay readable.
struct SharedSet {
  std::string name, defect;
};
inline void PrintTo(const SharedSet& set, std::ostream* out) {
  *out << set.name;
}

}  // namespace vigil::testing
