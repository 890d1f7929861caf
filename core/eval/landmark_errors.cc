// Pose and expression errors between the landmarks of a source face and its swap.
#include "core/eval/landmark_errors.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/face/alignment.h"
#include "core/util/status_macros.h"

namespace fsc::eval {
namespace {

constexpr size_t kNumLandmarks = 68;
constexpr int kRightEyeOuter = 36;
constexpr int kLeftEyeOuter = 45;

// |a - b| for angles in degrees, the short way round.
double AngleDifference(double a, double b) {
  const double d = std::fmod(std::abs(a - b), 360.0);
  return d > 180.0 ? 360.0 - d : d;
}

}  // namespace

PoseError ComparePoses(const face::HeadPose& source, const face::HeadPose& swapped) {
  PoseError e;
  e.yaw = AngleDifference(source.yaw, swapped.yaw);
  e.pitch = AngleDifference(source.pitch, swapped.pitch);
  e.roll = AngleDifference(source.roll, swapped.roll);
  e.rotation = face::RotationAngleBetween(source.rotation, swapped.rotation);
  return e;
}

double InterOcular(const face::Landmarks& landmarks) {
  if (landmarks.size() != kNumLandmarks) return 0;
  return cv::norm(landmarks[kRightEyeOuter] - landmarks[kLeftEyeOuter]);
}

absl::StatusOr<double> AlignedNme(const face::Landmarks& source, const face::Landmarks& swapped) {
  if (source.size() != kNumLandmarks || swapped.size() != kNumLandmarks) {
    return absl::InvalidArgumentError(absl::StrCat("NME: got ", source.size(), " and ",
                                                   swapped.size(), " landmarks; want 68 each"));
  }
  const double iod = InterOcular(source);
  if (!(iod > 1e-6)) {
    return absl::InvalidArgumentError("NME: degenerate source landmarks (the eyes coincide)");
  }
  FSC_ASSIGN_OR_RETURN(cv::Mat similarity, face::UmeyamaSimilarity(swapped, source));
  const face::Landmarks laid = face::TransformPoints(similarity, swapped);
  double sum = 0;
  for (size_t i = 0; i < kNumLandmarks; ++i) sum += cv::norm(laid[i] - source[i]);
  return sum / kNumLandmarks / iod;
}

}  // namespace fsc::eval
