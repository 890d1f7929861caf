// Content-addressed blob storage: temp file + hash check + fsync + rename.
#include "coordinator/blob_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "absl/strings/str_cat.h"
#include "coordinator/tokens.h"
#include "coordinator/validation.h"
#include "core/util/status_macros.h"

namespace fsc::coordinator {
namespace fs = std::filesystem;
namespace {

absl::Status Errno(const std::string& what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " '", path, "': ", std::strerror(errno)));
}

}  // namespace

BlobWriter::BlobWriter(const BlobStore* store, std::string temp_path, int fd)
    : store_(store), temp_path_(std::move(temp_path)), fd_(fd) {}

BlobWriter::~BlobWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!done_) ::unlink(temp_path_.c_str());
}

absl::Status BlobWriter::Append(absl::string_view data) {
  if (done_) return absl::FailedPreconditionError("the blob was already committed");
  hash_.Update(data);
  size_t written = 0;
  while (written < data.size()) {
    ssize_t n = ::write(fd_, data.data() + written, data.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("cannot write the blob file", temp_path_);
    }
    written += static_cast<size_t>(n);
  }
  size_ += static_cast<int64_t>(data.size());
  return absl::OkStatus();
}

absl::StatusOr<std::string> BlobWriter::Commit(const std::string& expected_sha256,
                                               int64_t expected_size) {
  if (done_) return absl::FailedPreconditionError("the blob was already committed");
  done_ = true;
  std::string actual = hash_.HexDigest();
  absl::Status problem;
  if (expected_size >= 0 && expected_size != size_) {
    problem =
        absl::InvalidArgumentError(absl::StrCat("received ", size_, " bytes but expected ",
                                                expected_size, " (blob ", expected_sha256, ")"));
  } else if (actual != expected_sha256) {
    problem = absl::InvalidArgumentError(
        absl::StrCat("the received bytes hash to ", actual, " but the sender said ",
                     expected_sha256, "; the upload was corrupted or the hash is wrong"));
  }
  if (problem.ok() && ::fsync(fd_) != 0) problem = Errno("cannot flush the blob file", temp_path_);
  ::close(fd_);
  fd_ = -1;
  if (!problem.ok()) {
    ::unlink(temp_path_.c_str());
    return problem;
  }
  std::string final_path = store_->PathFor(actual);
  std::error_code ec;
  fs::create_directories(fs::path(final_path).parent_path(), ec);
  if (ec) {
    ::unlink(temp_path_.c_str());
    return absl::InternalError(
        absl::StrCat("cannot create the blob folder for '", final_path, "': ", ec.message()));
  }
  // Renaming over an existing blob is harmless: same name, same bytes (and a fresh write time,
  // which keeps Collect away from it for the grace period).
  {
    std::lock_guard<std::mutex> lock(store_->mu_);
    if (::rename(temp_path_.c_str(), final_path.c_str()) != 0) {
      absl::Status status = Errno("cannot move the blob into place at", final_path);
      ::unlink(temp_path_.c_str());
      return status;
    }
  }
  // Make the rename itself durable.
  int dir = ::open(fs::path(final_path).parent_path().c_str(), O_RDONLY | O_DIRECTORY);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return actual;
}

absl::StatusOr<std::unique_ptr<BlobStore>> BlobStore::Open(const std::string& data_dir) {
  if (data_dir.empty()) return absl::InvalidArgumentError("the data folder is not set");
  std::error_code ec;
  fs::create_directories(fs::path(data_dir) / "blobs", ec);
  if (!ec) fs::create_directories(fs::path(data_dir) / "tmp", ec);
  if (ec) {
    return absl::UnavailableError(absl::StrCat("cannot create the data folder '", data_dir,
                                               "': ", ec.message(),
                                               " (check the --data-dir path and permissions)"));
  }
  // Temporary files are only ever half-received uploads of a previous run.
  for (const auto& entry : fs::directory_iterator(fs::path(data_dir) / "tmp", ec)) {
    fs::remove(entry.path(), ec);
  }
  return std::unique_ptr<BlobStore>(new BlobStore(data_dir));
}

std::string BlobStore::PathFor(const std::string& sha256) const {
  return absl::StrCat(data_dir_, "/blobs/", sha256.substr(0, 2), "/", sha256);
}

bool BlobStore::Has(const std::string& sha256) const {
  if (!ValidateSha256(sha256, "blob").ok()) return false;
  struct stat info;
  return ::stat(PathFor(sha256).c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

absl::StatusOr<int64_t> BlobStore::Size(const std::string& sha256) const {
  FSC_RETURN_IF_ERROR(ValidateSha256(sha256, "blob"));
  struct stat info;
  if (::stat(PathFor(sha256).c_str(), &info) != 0 || !S_ISREG(info.st_mode)) {
    return absl::NotFoundError(absl::StrCat("no blob ", sha256, " in the store"));
  }
  return static_cast<int64_t>(info.st_size);
}

absl::StatusOr<std::unique_ptr<BlobWriter>> BlobStore::NewWriter() const {
  std::string temp = absl::StrCat(data_dir_, "/tmp/", NewId("upload-"));
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("cannot create the temporary blob file", temp);
  return std::unique_ptr<BlobWriter>(new BlobWriter(this, temp, fd));
}

absl::StatusOr<std::string> BlobStore::Put(absl::string_view bytes) const {
  FSC_ASSIGN_OR_RETURN(std::unique_ptr<BlobWriter> writer, NewWriter());
  FSC_RETURN_IF_ERROR(writer->Append(bytes));
  return writer->Commit(util::Sha256Hex(bytes), static_cast<int64_t>(bytes.size()));
}

void BlobStore::Pin(const std::string& sha256) const {
  std::lock_guard<std::mutex> lock(mu_);
  pinned_.insert(sha256);
}

void BlobStore::Unpin(const std::string& sha256) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto found = pinned_.find(sha256);
  if (found != pinned_.end()) pinned_.erase(found);
}

BlobStore::Collected BlobStore::Collect(const std::set<std::string>& referenced,
                                        int64_t cutoff_unix_ms,
                                        const ReleasedBlobs& released) const {
  Collected collected;
  std::error_code ec;
  for (const auto& shard : fs::directory_iterator(fs::path(data_dir_) / "blobs", ec)) {
    std::error_code shard_ec;
    for (const auto& entry : fs::directory_iterator(shard.path(), shard_ec)) {
      const std::string name = entry.path().filename().string();
      if (!ValidateSha256(name, "blob").ok() || referenced.count(name) != 0) continue;
      std::lock_guard<std::mutex> lock(mu_);
      struct stat info;
      if (pinned_.count(name) != 0 || ::lstat(entry.path().c_str(), &info) != 0 ||
          !S_ISREG(info.st_mode)) {
        continue;
      }
      const int64_t written_ms =
          int64_t{info.st_mtim.tv_sec} * 1000 + info.st_mtim.tv_nsec / 1000000;
      const bool released_now =
          released.blobs.count(name) != 0 && written_ms <= released.holder_stored_unix_ms;
      if (written_ms >= cutoff_unix_ms && !released_now) continue;
      if (::unlink(entry.path().c_str()) == 0) {
        ++collected.blobs;
        collected.bytes += static_cast<int64_t>(info.st_size);
      }
    }
  }
  return collected;
}

absl::Status BlobStore::Read(const std::string& sha256, int64_t chunk_bytes,
                             const std::function<bool(absl::string_view)>& sink) const {
  FSC_RETURN_IF_ERROR(ValidateSha256(sha256, "blob"));
  std::string path = PathFor(sha256);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      return absl::NotFoundError(absl::StrCat("no blob ", sha256, " in the store"));
    return Errno("cannot open the blob", path);
  }
  std::vector<char> buffer(static_cast<size_t>(chunk_bytes));
  bool sent_any = false;
  while (true) {
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      absl::Status status = Errno("cannot read the blob", path);
      ::close(fd);
      return status;
    }
    if (n == 0 && sent_any) break;
    sent_any = true;
    if (!sink(absl::string_view(buffer.data(), static_cast<size_t>(n)))) {
      ::close(fd);
      return absl::CancelledError("the reader stopped");
    }
    if (n == 0) break;
  }
  ::close(fd);
  return absl::OkStatus();
}

}  // namespace fsc::coordinator
