#include <algorithm>
#include <filesystem>

#include "vigil/dataset.h"
#include "vigil/error.h"
#include "vigil/image_io.h"

namespace vigil {

namespace fs = std::filesystem;

// Hidden files are skipped: copies made on macOS carry "._name.jpg"
// resource forks that look like images but are not.
std::vector<std::string> list_images(const std::string& dir) {
  std::error_code error;
  fs::file_status status = fs::status(dir, error);
  if (!fs::exists(status)) throw Error(dir, "no such folder");
  if (!fs::is_directory(status)) throw Error(dir, "not a folder");

  std::vector<std::string> paths;
  fs::directory_iterator it(dir, error);
  if (error) throw Error(dir, "cannot list folder: " + error.message());
  for (const fs::directory_entry& entry : it) {
    std::string name = entry.path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    if (!entry.is_regular_file(error) || !has_image_extension(name)) continue;
    paths.push_back(entry.path().string());
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

}  // namespace vigil
