// Checks on everything that arrives over the wire before it can touch the store: dataset paths,
// file entries, hashes, job specs (enums, priorities, option values, frame ranges). Each
// returns INVALID_ARGUMENT with a message naming the field and what is allowed.
#ifndef FSC_COORDINATOR_VALIDATION_H_
#define FSC_COORDINATOR_VALIDATION_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "proto/fsc.pb.h"

namespace fsc::coordinator {

inline constexpr int64_t kMaxChunkBytes = 4 << 20;           // one FileChunk / BlobChunk
inline constexpr int kMaxDatasetFiles = 200000;              // files in one dataset
inline constexpr int kMaxPathBytes = 1024;                   // one relative path
inline constexpr int64_t kMaxFileBytes = int64_t{64} << 30;  // one file (64 GiB)
inline constexpr int kMaxNameBytes = 256;                    // job and dataset names
inline constexpr int kMaxTasksPerJob = 100000;
inline constexpr int kMaxTaskOutputs = 200000;
inline constexpr int kMaxAttemptsLimit = 20;
inline constexpr int kMaxVideoSide = 16384;  // declared width and height, pixels
inline constexpr double kMaxVideoFps = 1000;

// A dataset/artifact path: relative, '/'-separated, no empty, "." or ".." component, no
// backslash, no NUL or control characters, at most kMaxPathBytes.
absl::Status ValidatePath(const std::string& path, const std::string& what);
// 64 lowercase hex digits.
absl::Status ValidateSha256(const std::string& hex, const std::string& what);
// Path, size (0..kMaxFileBytes) and hash of one file entry.
absl::Status ValidateFileEntry(const proto::FileEntry& file, const std::string& what);
// An id we handed out: 1..64 characters of [A-Za-z0-9_-].
absl::Status ValidateId(const std::string& id, const std::string& what);
// A printable label of at most kMaxNameBytes.
absl::Status ValidateName(const std::string& name, const std::string& what);
// A video's declared media against the size of its file: at least one frame, no more frames than
// the bytes can hold (rpc::kMinVideoBytesPerFrame), width/height 0 (unknown) or 1..kMaxVideoSide,
// fps 0 (unknown) or up to kMaxVideoFps.
absl::Status ValidateMediaInfo(const proto::MediaInfo& media, int64_t file_bytes,
                               const std::string& what);
// Kind, priority, option values, frames_per_task, max_attempts, and that the inputs the kind
// needs are named (their existence is checked by the caller, who knows the owner).
absl::Status ValidateJobSpec(const proto::JobSpec& spec);

}  // namespace fsc::coordinator

#endif  // FSC_COORDINATOR_VALIDATION_H_
