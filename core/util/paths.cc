// This executable's path, and the models folder from the environment or that path.
#include "core/util/paths.h"

#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"

namespace fsc::util {
namespace fs = std::filesystem;

absl::StatusOr<std::string> SelfExecutable() {
  std::error_code ec;
  fs::path path = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot find this program: ", ec.message()));
  return path.string();
}

std::string DefaultModelsDir() {
  if (const char* env = std::getenv("FSC_MODELS_DIR"); env != nullptr && *env != '\0') return env;
  std::error_code ec;
  if (absl::StatusOr<std::string> exe = SelfExecutable(); exe.ok()) {
    for (fs::path dir = fs::path(*exe).parent_path();
         dir.has_parent_path() && dir != dir.parent_path(); dir = dir.parent_path()) {
      if (fs::is_directory(dir / "models" / "face-api", ec)) return (dir / "models").string();
    }
  }
  return "models";
}

}  // namespace fsc::util
