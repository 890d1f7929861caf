// The alignments file: every face fsc found in one source (frame -> faces: box, score, 68
// landmarks, transform, masks), as a versioned fsc.proto.Alignments message behind a magic
// header and a checksum, written atomically. A JSON view serves people and scripts
// (`fsc alignments dump`).
//
// On disk, version 3 (this build):  "FSCALN3\n" <SHA-256 of the payload, 64 hex> "\n" <payload>
//          version 2 (still read):   "FSCALN2\n" <the same layout>
//          version 1 (still read):   "FSCALN1\n" <payload>
// where the payload is the serialized Alignments message. Version 3 adds the steady-faces fields
// (track ids, raw landmarks, filled faces, frame histograms, shot cuts, the smoothing settings;
// core/face/stabilize.h); older files simply have none of them (no tracks, landmarks raw).
#ifndef FSC_CORE_FACE_ALIGNMENTS_FILE_H_
#define FSC_CORE_FACE_ALIGNMENTS_FILE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/fsc.pb.h"

namespace fsc::face {

// The version this build writes and the newest it reads.
inline constexpr uint32_t kAlignmentsVersion = 3;

// Landmarks, boxes and transform entries must be finite and within this many pixels of the
// origin; anything beyond is damage, not a face.
inline constexpr double kMaxCoordinate = 1 << 20;

// The most bins a frame histogram (Frame.histogram) may have; every frame of one file that has a
// histogram has the same number of bins, since shot cuts compare neighbouring frames' histograms.
inline constexpr int kMaxHistogramBins = 4096;

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

// DATA_LOSS naming the frame, face and value when a face has a landmark count (landmarks or
// raw_landmarks) other than 0 or 68, or a landmark, box or transform value that is not finite or
// lies beyond kMaxCoordinate (video frames: beyond 8 frame sizes outside the frame), a degenerate
// transform, or a negative track id; or naming the frame when its histogram holds a value that
// is negative or not finite, more than kMaxHistogramBins bins, or another number of bins than the
// file's other histograms; or when the smoothing settings are not finite or negative.
absl::Status ValidateAlignments(const proto::Alignments& alignments, const std::string& name);

// {"source": PATH, "frames": [{"frame": N, "faces": [{"box": [x, y, w, h], "score": s,
//  "landmarks": [[x, y] x 68]}]}]} in source pixels, plus version/detector/aligner/source_info and
// per-face "file" and "transform" for scripts that want them. "frames" lists the frames with
// faces only (frames kept for their histogram alone are left out). Stabilised files add per face
// "track" (its track id; 0: untracked), "filled": true for a face interpolated across a missed
// detection, "raw_landmarks" (the landmark net's own output) when `landmarks` were smoothed; and
// at the top "smoothing": {"strength", "max_gap", "tracks", "shot_cuts", "faces_filled"} and
// "shot_cuts": [frame indices where a new shot starts].
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
