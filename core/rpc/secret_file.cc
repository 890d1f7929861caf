// Owner-only atomic file writes for keys and tokens.
#include "core/rpc/secret_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"

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
  // Unique per process and call: two threads may write secrets at once.
  static std::atomic<int> counter{0};
  std::string temp = absl::StrCat(path, ".tmp-", getpid(), "-", counter++);
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat(path, ": cannot write (", std::strerror(errno), ")"));
  }
  const char* data = contents.data();
  size_t left = contents.size();
  while (left > 0) {
    ssize_t n = ::write(fd, data, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::string reason = std::strerror(errno);
      ::close(fd);
      ::unlink(temp.c_str());
      return absl::ResourceExhaustedError(absl::StrCat(path, ": write failed (", reason, ")"));
    }
    data += n;
    left -= static_cast<size_t>(n);
  }
  int sync_error = ::fsync(fd) != 0 ? errno : 0;
  int close_error = ::close(fd) != 0 ? errno : 0;
  if (sync_error != 0 || close_error != 0) {
    std::string reason = std::strerror(sync_error != 0 ? sync_error : close_error);
    ::unlink(temp.c_str());
    return absl::ResourceExhaustedError(absl::StrCat(path, ": flush failed (", reason, ")"));
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    std::string reason = std::strerror(errno);
    ::unlink(temp.c_str());
    return absl::PermissionDeniedError(
        absl::StrCat(path, ": cannot rename into place (", reason, ")"));
  }
  return absl::OkStatus();
}

}  // namespace fsc::rpc
