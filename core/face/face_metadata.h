// The metadata an aligned face PNG carries (fsc.proto.FaceMetadata in its fsCm chunk), read and
// checked in one place: the trainer's face sets and extract's --filter both take faces from
// outside (folders users give, datasets uploaded to a cluster).
#ifndef FSC_CORE_FACE_FACE_METADATA_H_
#define FSC_CORE_FACE_FACE_METADATA_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/fsc.pb.h"

namespace fsc::face {

// The checked metadata of the face PNG whose contents are `png_bytes`; errors start with `name`
// (the file's path) and say what to do. NOT_FOUND: the PNG has no fsCm chunk (not a face from
// fsc extract, or re-saved by an editor). DATA_LOSS: a damaged PNG, metadata that does not
// parse, or other than 68 aligned landmarks with finite coordinates within +-kMaxFaceCoordinate.
// FAILED_PRECONDITION: written by a newer fsc.
absl::StatusOr<proto::FaceMetadata> ReadFaceMetadata(absl::string_view png_bytes,
                                                     absl::string_view name);

// Aligned landmarks lie in the face crop (at most 65535 pixels a side); beyond this they are
// damage, and would overflow the integer pixel maths of masks and loss weights.
inline constexpr float kMaxFaceCoordinate = 1e6f;

}  // namespace fsc::face

#endif  // FSC_CORE_FACE_FACE_METADATA_H_
