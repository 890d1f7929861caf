// Moving datasets, blobs and artifacts between fsc processes and the coordinator's
// content-addressed store.
//
// A dataset is a list of files (FileEntry: path relative to the dataset root, size, sha256). A
// single file (a video, an image) is a dataset of one entry named by its base name; a folder is
// every regular file under it, recursively, with '/'-separated relative paths.
//
// Canonical form and id (the coordinator and the clients must agree on it byte for byte):
//   CanonicalFileList = the entries sorted by path (byte order), each written as
//                       "<path>\t<size in decimal>\t<sha256 lowercase hex>\n", concatenated;
//   DatasetId         = lowercase hex SHA-256 of CanonicalFileList.
// The name, owner and upload time are not part of the id: re-uploading the same bytes dedupes.
//
// Paths on the wire are validated with ValidateRelativePath before they touch a file system.
#ifndef FSC_CORE_RPC_TRANSFER_H_
#define FSC_CORE_RPC_TRANSFER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/fsc.grpc.pb.h"
#include "proto/fsc.pb.h"

namespace fsc::rpc {

// Bytes per FileChunk / BlobChunk message.
inline constexpr int64_t kChunkBytes = 1 << 20;

// A one-file video dataset declares its frames (proto MediaInfo), and no more than its bytes can
// hold: every coded frame takes at least this many bytes of its file (a container's per-frame
// header or index entry alone does). The client believes a container's count only within this
// bound; the coordinator refuses a declaration beyond it.
inline constexpr int64_t kMinVideoBytesPerFrame = 4;

// OK when `path` is a safe relative path: not empty, not absolute, '/'-separated, no empty, "."
// or ".." components, no backslashes, NULs or control characters, at most 4096 bytes.
// INVALID_ARGUMENT naming the path otherwise.
absl::Status ValidateRelativePath(absl::string_view path);

// OK for 64 lowercase hex digits.
absl::Status ValidateSha256(absl::string_view hex);

// Lists and hashes `path` (a file or a folder) as a dataset, sorted by path. NOT_FOUND when it
// does not exist; INVALID_ARGUMENT for an empty folder or a name that is not a valid relative
// path. Symbolic links are followed; one that leads back to a folder containing it (a loop) is
// INVALID_ARGUMENT, found before any file is hashed. Other special files are skipped.
absl::StatusOr<std::vector<proto::FileEntry>> ListDataset(const std::string& path);

// The canonical form and the id described above. `files` need not be sorted.
std::string CanonicalFileList(const std::vector<proto::FileEntry>& files);
std::string DatasetId(const std::vector<proto::FileEntry>& files);

// Checks a file list from the wire: valid paths and hashes, sizes >= 0, no duplicate paths.
absl::Status ValidateFileList(const std::vector<proto::FileEntry>& files);

// Called as bytes move: (bytes done, bytes total).
using ByteProgress = std::function<void(int64_t, int64_t)>;

// Uploads `local_path` (file or folder) as a dataset named `name` through
// ClientService.UploadDataset: the header (with `media`, the declaration of a video, when given),
// then every file's bytes in chunks of kChunkBytes. Returns the coordinator's Dataset record (its
// id equals DatasetId of the listing).
absl::StatusOr<proto::Dataset> UploadDataset(proto::ClientService::StubInterface* stub,
                                             const std::string& token,
                                             const std::string& local_path, const std::string& name,
                                             const ByteProgress& progress = nullptr,
                                             const proto::MediaInfo* media = nullptr);

// Downloads a job's artifacts (all, or the one named `artifact_path`) into `folder`, each file
// written to a temporary name and renamed into place when its last chunk arrived. When
// `expected` is not empty (the job's artifacts), every file's size and sha256 are checked against
// it before the rename. Returns the files written.
absl::StatusOr<std::vector<proto::FileEntry>> DownloadArtifacts(
    proto::ClientService::StubInterface* stub, const std::string& token, const std::string& job_id,
    const std::string& artifact_path, const std::string& folder,
    const std::vector<proto::FileEntry>& expected = {}, const ByteProgress& progress = nullptr);

// Uploads one file as a blob through WorkerService.UploadBlob (the first chunk carries the
// expected sha256). Returns its FileEntry with `path` set to `entry_path`.
absl::StatusOr<proto::FileEntry> UploadBlob(proto::WorkerService::StubInterface* stub,
                                            const std::string& token, const std::string& local_file,
                                            const std::string& entry_path);

// A worker's local cache of blobs, by content address: <dir>/<first 2 hex digits>/<sha256>.
// Blobs are written to a temporary name, hash-verified, then renamed, so a cached file is always
// complete and correct. Safe to use from several threads and processes.
class BlobCache {
 public:
  explicit BlobCache(std::string dir);

  const std::string& dir() const { return dir_; }
  std::string PathOf(const std::string& sha256) const;
  bool Has(const std::string& sha256) const;

  // Fetches the blob from the coordinator unless cached; DATA_LOSS when the received bytes do not
  // hash to `sha256` (or their size differs from `size`, when size >= 0).
  absl::Status Fetch(proto::WorkerService::StubInterface* stub, const std::string& token,
                     const std::string& sha256, int64_t size = -1,
                     const ByteProgress& progress = nullptr);

  // Adds a local file to the cache (copy, hash-verified if `sha256` is not empty).
  absl::StatusOr<std::string> Add(const std::string& file, const std::string& sha256 = "");

  // Puts the cached blob at `dest` (hard link, else copy). Parent folders are created.
  absl::Status Materialize(const std::string& sha256, const std::string& dest) const;

 private:
  std::string dir_;
};

}  // namespace fsc::rpc

#endif  // FSC_CORE_RPC_TRANSFER_H_
