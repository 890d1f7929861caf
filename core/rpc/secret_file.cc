// Owner-only atomic file writes for keys and tokens.
#include "core/rpc/secret_file.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "core/util/file_io.h"

namespace fsc::rpc {

absl::Status WriteSecretFileAtomically(const std::string& path, absl::string_view contents) {
  namespace fs = std::filesystem;
  fs::path target(path);
  std::error_code ec;
  if (target.has_parent_path() && !fs::exists(target.parent_path(), ec)) {
    fs::create_directories(target.parent_path(), ec);
    if (ec) {
      return absl::PermissionDeniedError(
          absl::StrCat(target.parent_path().string(), ": cannot create folder: ", ec.message()));
    }
    fs::permissions(target.parent_path(), fs::perms::owner_all, ec);
  }
  return util::WriteFileAtomically(path, contents, 0600);
}

}  // namespace fsc::rpc
