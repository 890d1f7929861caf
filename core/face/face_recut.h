// The aligned face PNGs follow the alignments: after stabilisation (stabilize.h) changed a face's
// landmarks, transform and masks, or added a filled face, its PNG is cut again from the source
// frame with the stored (smoothed) transform, the same warp extraction uses, so training material
// matches what convert is driven by. Used after a local extraction, by `fsc alignments smooth`
// and by the cluster's merge task.
#ifndef FSC_CORE_FACE_FACE_RECUT_H_
#define FSC_CORE_FACE_FACE_RECUT_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "proto/fsc.pb.h"

namespace fsc::face {

struct RecutOptions {
  int threads = 1;  // warp and encode faces on this many threads while one decodes
  // Faces without a PNG (no face_file) get one too, not only filled faces: a local extraction
  // that smooths a video leaves all its PNGs to this pass instead of cutting them twice.
  bool cut_unnamed = false;
};

struct RecutReport {
  int64_t faces_recut = 0;     // PNGs written: cut again, or new for filled faces
  int64_t stale_removed = 0;   // PNGs of filled faces the alignments no longer hold, removed
  int64_t frames_decoded = 0;  // source frames read to cut them
  double seconds = 0;
};

// Makes the face PNGs in `faces_dir` follow `alignments`, whose faces name their PNGs there
// (Face.face_file). A face's PNG is cut again when its metadata's landmarks, transform or
// aligned size differ from the face's (smoothed faces, and faces whose smoothing was undone or
// changed), or when it is a filled face without a PNG yet (any face without one, with
// cut_unnamed): that one gets the name extraction gives it (FaceFileName) and its face_file is
// set in `alignments` (so write the alignments after this). A PNG a face names but that is missing
// stays missing (users delete faces they do not want to train on). PNGs of filled faces that the
// alignments no longer hold (smoothed again with a shorter --max-gap) are removed. Each PNG is
// written atomically, with MakeFaceMetadata.
//
// `source_path` is the media the alignments were extracted from; it is read only when a face
// needs cutting, in one pass that stops after the last frame needed. Errors: FAILED_PRECONDITION
// when its fingerprint differs from alignments->source().sha256() (another file), NOT_FOUND
// when it is missing (both name the path and say what to do), DATA_LOSS when a needed frame does
// not decode or a face's transform is unusable; PNGs already re-cut stay re-cut.
absl::StatusOr<RecutReport> RecutFacePngs(const std::string& source_path,
                                          const std::string& faces_dir,
                                          proto::Alignments* alignments,
                                          const RecutOptions& options = {});

// True when `dir` holds at least one .png file (extraction wrote face PNGs there).
bool HasFacePngs(const std::string& dir);

}  // namespace fsc::face

#endif  // FSC_CORE_FACE_FACE_RECUT_H_
