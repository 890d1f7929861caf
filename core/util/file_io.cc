// Whole-file reads and temp-file-plus-rename writes.
#include "core/util/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"

namespace fsc::util {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return absl::NotFoundError(absl::StrCat(path, ": no such file"));
  }
  if (std::filesystem::is_directory(path, ec)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": is a directory, expected a file"));
  }
  // One read into a buffer of the file's size: model weights run to hundreds of MB, and a
  // stream copy through a growing buffer costs several times the read itself.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat(path, ": cannot open for reading: ", std::strerror(errno)));
  }
  struct stat st {};
  std::string out;
  if (::fstat(fd, &st) == 0 && st.st_size > 0) out.resize(static_cast<size_t>(st.st_size));
  size_t filled = 0;
  char probe[4096];
  while (true) {
    // A full buffer is usually the whole file: probe for more before growing it.
    const bool full = filled == out.size();
    const ssize_t n = full ? ::read(fd, probe, sizeof(probe))
                           : ::read(fd, out.data() + filled, out.size() - filled);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      return absl::DataLossError(absl::StrCat(path, ": read error: ", std::strerror(error)));
    }
    if (n == 0) break;
    if (full) {
      out.resize(std::max<size_t>(out.size() * 2, sizeof(probe)));
      std::memcpy(out.data() + filled, probe, static_cast<size_t>(n));
    }
    filled += static_cast<size_t>(n);
  }
  ::close(fd);
  out.resize(filled);
  return out;
}

absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents, mode_t mode) {
  namespace fs = std::filesystem;
  fs::path target(path);
  std::error_code ec;
  if (target.has_parent_path()) {
    fs::create_directories(target.parent_path(), ec);
    if (ec) {
      return absl::PermissionDeniedError(
          absl::StrCat(target.parent_path().string(), ": cannot create directory: ", ec.message()));
    }
  }
  // Unique per process and call: two threads may write the same file at once.
  static std::atomic<int> counter{0};
  std::string temp = absl::StrCat(path, ".tmp-", getpid(), "-", counter++);
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
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
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(temp.c_str());
    return absl::DataLossError(absl::StrCat(path, ": flush failed (", std::strerror(errno), ")"));
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    std::string reason = std::strerror(errno);
    ::unlink(temp.c_str());
    return absl::PermissionDeniedError(absl::StrCat(path, ": rename failed (", reason, ")"));
  }
  return absl::OkStatus();
}

}  // namespace fsc::util
