// Content-addressed file storage under `<data dir>/blobs/<first two hex digits>/<sha256>`.
// Every blob is written to `<data dir>/tmp/` while its hash is computed, flushed to disk, checked
// against the hash the sender claimed, and only then renamed into place: a blob file that exists
// always holds exactly the bytes its name says. Identical content is stored once.
//
// Collection: Collect removes the blobs nothing references (the caller says what is referenced)
// except those written within a grace period (an upload whose record is not stored yet) and
// those pinned by uploads in progress. A blob written again while it is being collected
// survives: writing and collecting the same name exclude each other.
#ifndef FSC_COORDINATOR_BLOB_STORE_H_
#define FSC_COORDINATOR_BLOB_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/util/sha256.h"

namespace fsc::coordinator {

class BlobStore;

// One blob being received. Append the bytes, then Commit; dropping it uncommitted removes the
// temporary file.
class BlobWriter {
 public:
  ~BlobWriter();
  BlobWriter(const BlobWriter&) = delete;
  BlobWriter& operator=(const BlobWriter&) = delete;

  absl::Status Append(absl::string_view data);
  int64_t size() const { return size_; }
  // Checks the hash (and `expected_size` unless it is negative), then moves the blob into place.
  // Returns the hex sha256. A mismatch is INVALID_ARGUMENT and stores nothing.
  absl::StatusOr<std::string> Commit(const std::string& expected_sha256, int64_t expected_size);

 private:
  friend class BlobStore;
  BlobWriter(const BlobStore* store, std::string temp_path, int fd);

  const BlobStore* store_;
  std::string temp_path_;
  int fd_;
  int64_t size_ = 0;
  util::Sha256 hash_;
  bool done_ = false;
};

// Blobs whose last holder has just let go (a removed dataset's files) and when that holder was
// stored: such a blob last written no later than that was written for the holder, so it can go
// at once; one written since holds the same bytes for someone else (an upload or a task output
// whose record is not stored yet) and waits for the grace period like any other.
struct ReleasedBlobs {
  std::set<std::string> blobs;
  int64_t holder_stored_unix_ms = 0;
};

class BlobStore {
 public:
  // Creates `<data_dir>/blobs` and `<data_dir>/tmp` if needed and clears leftovers in tmp/.
  static absl::StatusOr<std::unique_ptr<BlobStore>> Open(const std::string& data_dir);

  // The file holding the blob (it may not exist); `sha256` must be valid hex.
  std::string PathFor(const std::string& sha256) const;
  bool Has(const std::string& sha256) const;
  // Size of a stored blob; NOT_FOUND when it is not stored.
  absl::StatusOr<int64_t> Size(const std::string& sha256) const;

  absl::StatusOr<std::unique_ptr<BlobWriter>> NewWriter() const;
  // Stores `bytes` (small blobs, tests).
  absl::StatusOr<std::string> Put(absl::string_view bytes) const;
  // Streams a stored blob in chunks of at most `chunk_bytes` to `sink` (which may stop the read
  // by returning false: then CANCELLED). An empty blob calls `sink` once with no bytes.
  absl::Status Read(const std::string& sha256, int64_t chunk_bytes,
                    const std::function<bool(absl::string_view)>& sink) const;

  const std::string& data_dir() const { return data_dir_; }

  // Keeps a blob from being collected until the same number of Unpin calls (an upload that has
  // stored some of its files but not yet its record).
  void Pin(const std::string& sha256) const;
  void Unpin(const std::string& sha256) const;

  struct Collected {
    int64_t blobs = 0;
    int64_t bytes = 0;
  };
  // Removes every blob not in `referenced` and not pinned that was last written before
  // `cutoff_unix_ms`, or is in `released` and qualifies as said there.
  Collected Collect(const std::set<std::string>& referenced, int64_t cutoff_unix_ms,
                    const ReleasedBlobs& released = {}) const;

 private:
  friend class BlobWriter;
  explicit BlobStore(std::string data_dir) : data_dir_(std::move(data_dir)) {}
  std::string data_dir_;
  mutable std::mutex mu_;  // a blob's rename into place vs. its removal; pinned_
  mutable std::multiset<std::string> pinned_;
};

}  // namespace fsc::coordinator

#endif  // FSC_COORDINATOR_BLOB_STORE_H_
