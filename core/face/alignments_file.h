// The alignments file: every face fsc found in one source (frame -> faces: box, score, 68
// landmarks, transform, masks), as a versioned fsc.proto.Alignments message behind a magic
// header, written atomically. A JSON view serves people and scripts (`fsc alignments dump`).
#ifndef FSC_CORE_FACE_ALIGNMENTS_FILE_H_
#define FSC_CORE_FACE_ALIGNMENTS_FILE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/fsc.pb.h"

namespace fsc::face {

// The version this build writes and the newest it reads.
inline constexpr uint32_t kAlignmentsVersion = 1;

absl::Status WriteAlignments(const std::string& path, const proto::Alignments& alignments);

// INVALID_ARGUMENT when the file is not an fsc alignments file, FAILED_PRECONDITION when it was
// written by a newer fsc, DATA_LOSS when it is truncated or corrupt.
absl::StatusOr<proto::Alignments> ReadAlignments(const std::string& path);

// {"source": PATH, "frames": [{"frame": N, "faces": [{"box": [x, y, w, h], "score": s,
//  "landmarks": [[x, y] x 68]}]}]} in source pixels, plus version/detector/aligner/source_info and
// per-face "file" and "transform" for scripts that want them.
std::string AlignmentsToJson(const proto::Alignments& alignments, bool pretty);

// Identifies a source's exact bytes: SHA-256 of a file, or of a folder's sorted image names and
// their hashes. Used to refuse alignments that belong to another source.
absl::StatusOr<std::string> SourceFingerprint(const std::string& path);

}  // namespace fsc::face

#endif  // FSC_CORE_FACE_ALIGNMENTS_FILE_H_
