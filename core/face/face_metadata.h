// The metadata an aligned face PNG carries (fsc.proto.FaceMetadata in its fsCm chunk), written
// in one place (extraction, and the re-cut of smoothed faces: face_recut.h) and read and checked
// in one place: the trainer's face sets and extract's --filter both take faces from outside
// (folders users give, datasets uploaded to a cluster).
#ifndef FSC_CORE_FACE_FACE_METADATA_H_
#define FSC_CORE_FACE_FACE_METADATA_H_

#include <opencv2/core.hpp>
#include <string>
#include <vector>

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

// The file name of a face PNG: `<stem>_<frame, 6 digits>_<face_index>.png`, the stem that of
// `frame_name` (a folder's image) or else of `source_path` (a video or single image).
std::string FaceFileName(const std::string& source_path, const std::string& frame_name,
                         int64_t frame, int face_index);

// The metadata of the face PNG of `face`, the `face_index`-th face of frame `frame` of `source`
// (its path and sha256 are recorded): the face as the alignments hold it, and its landmarks in
// the crop (`aligned_landmarks`, 68 points).
proto::FaceMetadata MakeFaceMetadata(const proto::SourceInfo& source, int64_t frame, int face_index,
                                     const proto::Face& face,
                                     const std::vector<cv::Point2f>& aligned_landmarks);

// Encodes `crop` as a PNG carrying `metadata` and writes it to `path` atomically (a temporary
// file, then a rename, so a hard link to an older version is replaced, not changed).
absl::Status WriteFacePng(const std::string& path, const cv::Mat& crop,
                          const proto::FaceMetadata& metadata);

// Aligned landmarks lie in the face crop (at most 65535 pixels a side); beyond this they are
// damage, and would overflow the integer pixel maths of masks and loss weights.
inline constexpr float kMaxFaceCoordinate = 1e6f;

}  // namespace fsc::face

#endif  // FSC_CORE_FACE_FACE_METADATA_H_
