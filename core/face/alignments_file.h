// The alignments file: every face fsc found in one source (frame -> faces: box, score, 68
// landmarks, transform, masks), as a versioned fsc.proto.Alignments message behind a magic
// header and a checksum, written atomically. A JSON view serves people and scripts
// (`fsc alignments dump`).
//
// On disk, version 2 (this build):  "FSCALN2\n" <SHA-256 of the payload, 64 hex> "\n" <payload>
//          version 1 (still read):   "FSCALN1\n" <payload>
// where the payload is the serialized Alignments message.
#ifndef FSC_CORE_FACE_ALIGNMENTS_FILE_H_
#define FSC_CORE_FACE_ALIGNMENTS_FILE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/fsc.pb.h"

namespace fsc::face {

// The version this build writes and the newest it reads.
inline constexpr uint32_t kAlignmentsVersion = 2;

// Landmarks, boxes and transform entries must be finite and within this many pixels of the
// origin; anything beyond is damage, not a face.
inline constexpr double kMaxCoordinate = 1 << 20;

absl::Status WriteAlignments(const std::string& path, const proto::Alignments& alignments);

// Reads and checks `path` (see ParseAlignments); NOT_FOUND when it is missing.
absl::StatusOr<proto::Alignments> ReadAlignments(const std::string& path);

// Parses the bytes of an alignments file; `name` only labels the errors. A pure function of its
// input: any bytes give a value or an error, never an abort. INVALID_ARGUMENT when they are not
// an fsc alignments file, FAILED_PRECONDITION when written by a newer fsc, DATA_LOSS when
// truncated, corrupt (checksum), or holding faces no extractor can produce (see
// ValidateAlignments).
absl::StatusOr<proto::Alignments> ParseAlignments(absl::string_view bytes, const std::string& name);

// The bytes WriteAlignments writes for `alignments` (at kAlignmentsVersion).
std::string SerializeAlignments(const proto::Alignments& alignments);

// DATA_LOSS naming the frame, face and value when a face has a landmark count other than 0 or
// 68, or a landmark, box or transform value that is not finite or lies beyond kMaxCoordinate
// (video frames: beyond 8 frame sizes outside the frame), or a degenerate transform.
absl::Status ValidateAlignments(const proto::Alignments& alignments, const std::string& name);

// {"source": PATH, "frames": [{"frame": N, "faces": [{"box": [x, y, w, h], "score": s,
//  "landmarks": [[x, y] x 68]}]}]} in source pixels, plus version/detector/aligner/source_info and
// per-face "file" and "transform" for scripts that want them.
std::string AlignmentsToJson(const proto::Alignments& alignments, bool pretty);

// Identifies a source's exact bytes: SHA-256 of a file, or of a folder's sorted image names and
// their hashes. Used to refuse alignments that belong to another source.
absl::StatusOr<std::string> SourceFingerprint(const std::string& path);

// The alignments file a user means by `path`: `path` itself when it is a file, else the
// alignments file inside the folder (an extract output folder, or a cluster job's fetched
// folder, including ones fetched before the file had one name).
std::string ResolveAlignmentsPath(const std::string& path);

}  // namespace fsc::face

#endif  // FSC_CORE_FACE_ALIGNMENTS_FILE_H_
