// Locating the models folder from the environment or the binary's own path.
#include "core/util/paths.h"

#include <cstdlib>
#include <filesystem>

namespace fsc::util {

std::string DefaultModelsDir() {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("FSC_MODELS_DIR"); env != nullptr && *env != '\0') return env;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (fs::path dir = exe.parent_path(); dir.has_parent_path() && dir != dir.parent_path();
         dir = dir.parent_path()) {
      if (fs::is_directory(dir / "models" / "face-api", ec)) return (dir / "models").string();
    }
  }
  return "models";
}

}  // namespace fsc::util
