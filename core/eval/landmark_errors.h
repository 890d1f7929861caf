// Geometry preserved by a swap, from 68 landmarks found on the source face and on the swapped
// face of the same frame:
//  - pose error: the head pose (core/face/head_pose.h) of each, compared angle by angle and as
//    one rotation (the angle of the rotation between the two head poses, axis-free);
//  - expression error: the normalised mean error (NME) of the swapped landmarks after the
//    similarity (Umeyama: rotation, scale, shift) that best lays them onto the source's, divided
//    by the source's inter-ocular distance (outer eye corners 36 and 45), the 300-W convention.
//    The similarity takes out where the face sits and how big it is, so what remains is shape:
//    mouth, eyes, brows, jaw, plus the out-of-plane part of any pose change.
#ifndef FSC_CORE_EVAL_LANDMARK_ERRORS_H_
#define FSC_CORE_EVAL_LANDMARK_ERRORS_H_

#include "absl/status/statusor.h"
#include "core/face/head_pose.h"
#include "core/face/landmark_net.h"

namespace fsc::eval {

struct PoseError {
  double yaw = 0, pitch = 0, roll = 0;  // absolute differences, degrees (wrapped to 0..180)
  double rotation = 0;                  // angle of the rotation between the poses, degrees
};

PoseError ComparePoses(const face::HeadPose& source, const face::HeadPose& swapped);

// Inter-ocular distance of 68 landmarks (outer eye corners); 0 for another count.
double InterOcular(const face::Landmarks& landmarks);

// NME as above (0 for identical shapes, whatever similarity separates them). INVALID_ARGUMENT
// for counts other than 68, non-finite points or a degenerate source (eyes coincide).
absl::StatusOr<double> AlignedNme(const face::Landmarks& source, const face::Landmarks& swapped);

}  // namespace fsc::eval

#endif  // FSC_CORE_EVAL_LANDMARK_ERRORS_H_
