// Private folders for task files and the blob cache.
#include "worker/private_dir.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "absl/strings/str_cat.h"

namespace fsc::worker {
namespace fs = std::filesystem;
namespace {

enum class Kind { kMissing, kPrivate, kShared };

absl::StatusOr<Kind> Inspect(const std::string& path) {
  struct stat info;
  if (::lstat(path.c_str(), &info) != 0) {
    if (errno == ENOENT) return Kind::kMissing;
    return absl::FailedPreconditionError(
        absl::StrCat("cannot inspect the folder '", path, "': ", std::strerror(errno)));
  }
  if (S_ISLNK(info.st_mode)) return Kind::kShared;  // the link could be swapped under us
  if (!S_ISDIR(info.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat("'", path, "' is not a folder"));
  }
  const bool ours = info.st_uid == ::geteuid();
  return ours && (info.st_mode & (S_IWGRP | S_IWOTH)) == 0 ? Kind::kPrivate : Kind::kShared;
}

absl::Status Create(const std::string& path) {
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create the folder '", path, "': ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> NewPrivateDir(const std::string& parent) {
  std::string pattern = (fs::path(parent) / "fsc-worker-XXXXXX").string();
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (::mkdtemp(buffer.data()) == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create a private folder in '", parent, "': ", std::strerror(errno)));
  }
  return std::string(buffer.data());
}

absl::StatusOr<std::string> PrivateDir(const std::string& path, const std::string& subfolder) {
  absl::StatusOr<Kind> kind = Inspect(path);
  if (!kind.ok()) return kind.status();
  if (*kind == Kind::kMissing) {
    if (absl::Status created = Create(path); !created.ok()) return created;
    kind = Inspect(path);  // someone may have made it first
    if (!kind.ok()) return kind.status();
  }
  if (*kind == Kind::kPrivate) return path;
  if (subfolder.empty()) return NewPrivateDir(path);
  const std::string inner = (fs::path(path) / subfolder).string();
  if (absl::Status created = Create(inner); !created.ok()) return created;
  absl::StatusOr<Kind> inner_kind = Inspect(inner);
  if (!inner_kind.ok()) return inner_kind.status();
  if (*inner_kind != Kind::kPrivate) {
    return absl::FailedPreconditionError(
        absl::StrCat("'", inner,
                     "' is not this user's private folder (another user made it, "
                     "or others may write to it): remove it or choose another "
                     "folder"));
  }
  return inner;
}

}  // namespace fsc::worker
