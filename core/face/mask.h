// Face masks built from 68 landmarks, in Faceswap's three flavours, drawn in any frame (usually
// the aligned crop's).
#ifndef FSC_CORE_FACE_MASK_H_
#define FSC_CORE_FACE_MASK_H_

#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/face/landmark_net.h"
#include "proto/fsc.pb.h"

namespace fsc::face {

enum class MaskType { kHull, kComponents, kExtended };

// "hull", "components", "extended"; INVALID_ARGUMENT otherwise.
absl::StatusOr<MaskType> ParseMaskType(const std::string& name);
std::string MaskTypeName(MaskType type);

// An 8-bit single-channel `size` mask (255 inside the face, 0 outside) from landmarks given in
// the same pixel frame.
//  - hull: convex hull of all 68 points.
//  - components: union of the convex hulls of the face's parts (jaw with brows, nose bridge,
//    eyes and mouth regions), as Faceswap's "components".
//  - extended: components with the eyebrows lifted away from the eyes to cover the forehead.
// Returns an empty Mat when `landmarks` is not 68 finite points or `size` is empty.
cv::Mat BuildLandmarkMask(const Landmarks& landmarks, cv::Size size, MaskType type);

// The stored kind of a mask type, and back (NOT_FOUND for MASK_UNKNOWN or a newer kind).
proto::MaskKind MaskKindOf(MaskType type);
absl::StatusOr<MaskType> MaskTypeOf(proto::MaskKind kind);

// A mask as alignments files store it: `type` drawn from `aligned_landmarks` (pixels of an
// aligned crop of side `aligned_size`) scaled to a `size` x `size` PNG. The one derivation the
// extractor and stabilisation share, so re-derived masks equal extracted ones.
proto::Mask EncodeLandmarkMask(const Landmarks& aligned_landmarks, int aligned_size, int size,
                               MaskType type);

}  // namespace fsc::face

#endif  // FSC_CORE_FACE_MASK_H_
