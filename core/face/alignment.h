// Face alignment maths: the Umeyama similarity transform of 68 landmarks onto fsc's fixed mean
// face, and the aligned crop it defines. The same transform, inverted, puts a swapped face back.
#ifndef FSC_CORE_FACE_ALIGNMENT_H_
#define FSC_CORE_FACE_ALIGNMENT_H_

#include <opencv2/core.hpp>
#include <vector>

#include "absl/status/statusor.h"
#include "core/face/landmark_net.h"
#include "proto/fsc.pb.h"

namespace fsc::face {

// Least-squares similarity transform (rotation, uniform scale, translation; no reflection)
// mapping `from` onto `to` (Umeyama 1991). Returns a 2x3 CV_64F matrix. INVALID_ARGUMENT when the
// point sets differ in size, have fewer than 2 points or are degenerate.
absl::StatusOr<cv::Mat> UmeyamaSimilarity(const std::vector<cv::Point2f>& from,
                                          const std::vector<cv::Point2f>& to);

// The mean face fsc aligns onto: 68 points in a unit square [0,1]^2 (the inner 51 landmarks are
// what the transform is fitted to, as in Faceswap; the jaw is too pose-dependent).
const std::vector<cv::Point2f>& MeanFace68();

struct AlignedFace {
  cv::Mat image;                // size x size BGR crop
  cv::Mat transform;            // 2x3 CV_64F: source pixels -> crop pixels
  Landmarks aligned_landmarks;  // the 68 landmarks in crop pixels
};

// The 2x3 CV_64F transform from source pixels into a `size` x `size` aligned crop: the inner 51
// `landmarks` fitted onto the mean face, which fills the crop less `padding` (fraction of the
// size) on every side, then shifted so the crop is centred on the face as Faceswap's "face"
// centring does (the centre comes from a rough 3D head pose, so turned heads stay centred).
// INVALID_ARGUMENT for a landmark count other than 68, a size below 8, padding outside [0, 0.5)
// or degenerate landmarks.
absl::StatusOr<cv::Mat> AlignmentTransform(const Landmarks& landmarks, int size,
                                           double padding = 0.25);

// Fits the transform of `landmarks` onto the mean face scaled into a `size` crop with `padding`
// (fraction of the size around the mean face; Faceswap's "face" centring) and warps `image`
// (8-bit or 16-bit, grey, BGR or BGRA; the crop is always 8-bit BGR, black outside the image).
absl::StatusOr<AlignedFace> AlignFace(const cv::Mat& image, const Landmarks& landmarks, int size,
                                      double padding = 0.25);

// The `size` x `size` 8-bit BGR crop that the 2x3 `transform` (source pixels -> crop pixels) cuts
// from `image` (as AlignFace takes it), pixel for pixel what AlignFace gives for the landmarks the
// transform came from: extraction and the re-cut of smoothed faces (face_recut.h) share it.
absl::StatusOr<cv::Mat> WarpAlignedCrop(const cv::Mat& image, const cv::Mat& transform, int size);

// The 2x3 CV_64F matrix of a stored face's transform; empty when it is not 6 finite numbers.
cv::Mat TransformOf(const proto::Face& face);

// Applies a 2x3 transform (any floating-point type) to points.
std::vector<cv::Point2f> TransformPoints(const cv::Mat& transform,
                                         const std::vector<cv::Point2f>& points);

// Landmarks as fsc.proto stores them (Face.landmarks, FaceMetadata.aligned_landmarks) and back.
// SetLandmarkPoints replaces what `out` held.
using ProtoPoints = google::protobuf::RepeatedPtrField<proto::Point>;
void SetLandmarkPoints(const Landmarks& landmarks, ProtoPoints* out);
Landmarks LandmarksFromPoints(const ProtoPoints& points);

}  // namespace fsc::face

#endif  // FSC_CORE_FACE_ALIGNMENT_H_
