// Head pose in a frame: solvePnP of the 3D head (head_pose.h) against 26 of the 68 landmarks, with
// a starting pose from the face's size and position so the solver always begins in front of the
// camera, facing it.
#include "core/face/head_pose.h"

#include <algorithm>
#include <cmath>
#include <opencv2/calib3d.hpp>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace fsc::face {
namespace {

constexpr int kNumLandmarks = 68;
constexpr double kDegrees = 180.0 / CV_PI;
// Rows of kHeadModel3d for the outer eye corners (landmarks 36 and 45): the scale of the start.
constexpr int kRightEyeRow = 14;
constexpr int kLeftEyeRow = 17;

// The 3D head in camera axes for a frontal, upright head: kHeadModel3d reflected through its
// origin (x towards the subject's left = image right, y down, z into the face). The reflection
// also makes the model right-handed, so a real rotation maps it to any head pose.
std::vector<cv::Point3d> FrontalHead() {
  std::vector<cv::Point3d> points;
  points.reserve(kHeadModelLandmarks.size());
  for (const auto& p : kHeadModel3d) points.emplace_back(-p[0], -p[1], -p[2]);
  return points;
}

// A pose that puts the frontal head where the landmarks are, at the depth their eye distance
// implies: the solver's start.
void StartingPose(const std::vector<cv::Point3d>& head, const std::vector<cv::Point2d>& image,
                  const cv::Matx33d& camera, cv::Vec3d* rvec, cv::Vec3d* tvec) {
  const double f = camera(0, 0);
  const double model_eyes = cv::norm(head[kRightEyeRow] - head[kLeftEyeRow]);
  const double image_eyes = cv::norm(image[kRightEyeRow] - image[kLeftEyeRow]);
  const double depth = f * model_eyes / image_eyes;
  cv::Point3d model_centre(0, 0, 0);
  cv::Point2d image_centre(0, 0);
  for (size_t i = 0; i < head.size(); ++i) {
    model_centre += head[i];
    image_centre += image[i];
  }
  model_centre *= 1.0 / head.size();
  image_centre *= 1.0 / image.size();
  *rvec = cv::Vec3d(0, 0, 0);
  *tvec = cv::Vec3d((image_centre.x - camera(0, 2)) * depth / f - model_centre.x,
                    (image_centre.y - camera(1, 2)) * depth / f - model_centre.y,
                    depth - model_centre.z);
}

}  // namespace

cv::Matx33d FrameCamera(cv::Size frame_size) {
  const double f = std::max(frame_size.width, frame_size.height);
  return cv::Matx33d(f, 0, frame_size.width / 2.0, 0, f, frame_size.height / 2.0, 0, 0, 1);
}

absl::StatusOr<HeadPose> EstimateHeadPose(const Landmarks& landmarks, const cv::Matx33d& camera) {
  if (landmarks.size() != kNumLandmarks) {
    return absl::InvalidArgumentError(absl::StrCat("head pose: got ", landmarks.size(),
                                                   " landmarks; want the 68-point iBUG layout"));
  }
  const std::vector<cv::Point3d> head = FrontalHead();
  std::vector<cv::Point2d> image;
  image.reserve(head.size());
  for (int index : kHeadModelLandmarks) {
    const cv::Point2f& p = landmarks[index];
    if (!std::isfinite(p.x) || !std::isfinite(p.y)) {
      return absl::InvalidArgumentError("head pose: landmarks contain NaN or infinity");
    }
    image.emplace_back(p);
  }
  if (cv::norm(image[kRightEyeRow] - image[kLeftEyeRow]) < 1e-3) {
    return absl::InvalidArgumentError("head pose: degenerate landmarks (the eyes coincide)");
  }
  cv::Vec3d rvec, tvec;
  StartingPose(head, image, camera, &rvec, &tvec);
  bool solved = false;
  try {
    solved =
        cv::solvePnP(head, image, camera, cv::noArray(), rvec, tvec, true, cv::SOLVEPNP_ITERATIVE);
  } catch (const cv::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("head pose: solvePnP failed: ", e.what()));
  }
  if (!solved || !cv::checkRange(rvec) || !cv::checkRange(tvec) || tvec[2] <= 0) {
    return absl::InvalidArgumentError("head pose: the 3D head does not fit these landmarks");
  }
  HeadPose pose;
  cv::Rodrigues(rvec, pose.rotation);
  pose.translation = tvec;
  const cv::Matx33d& r = pose.rotation;
  pose.yaw = std::asin(std::clamp(-r(2, 0), -1.0, 1.0)) * kDegrees;
  pose.pitch = std::atan2(r(2, 1), r(2, 2)) * kDegrees;
  pose.roll = std::atan2(r(1, 0), r(0, 0)) * kDegrees;
  const std::vector<cv::Point2f> fitted = ProjectHeadModel(pose.rotation, tvec, camera);
  double squared = 0;
  for (size_t i = 0; i < fitted.size(); ++i) {
    const cv::Point2d d = cv::Point2d(fitted[i]) - image[i];
    squared += d.dot(d);
  }
  pose.reprojection_px = std::sqrt(squared / fitted.size());
  return pose;
}

std::vector<cv::Point2f> ProjectHeadModel(const cv::Matx33d& rotation, const cv::Vec3d& translation,
                                          const cv::Matx33d& camera) {
  std::vector<cv::Point2f> points;
  points.reserve(kHeadModelLandmarks.size());
  for (const cv::Point3d& p : FrontalHead()) {
    const cv::Vec3d c = rotation * cv::Vec3d(p.x, p.y, p.z) + translation;
    const cv::Vec3d u = camera * c;
    points.emplace_back(static_cast<float>(u[0] / u[2]), static_cast<float>(u[1] / u[2]));
  }
  return points;
}

cv::Matx33d RotationFromAngles(double yaw, double pitch, double roll) {
  const double y = yaw / kDegrees, p = pitch / kDegrees, r = roll / kDegrees;
  const cv::Matx33d rz(std::cos(r), -std::sin(r), 0, std::sin(r), std::cos(r), 0, 0, 0, 1);
  const cv::Matx33d ry(std::cos(y), 0, std::sin(y), 0, 1, 0, -std::sin(y), 0, std::cos(y));
  const cv::Matx33d rx(1, 0, 0, 0, std::cos(p), -std::sin(p), 0, std::sin(p), std::cos(p));
  return rz * ry * rx;
}

double RotationAngleBetween(const cv::Matx33d& a, const cv::Matx33d& b) {
  // 2 sin(angle) is the length of the skew part, 2 cos(angle) the trace less one; atan2 of the two
  // stays exact near 0 (acos of the cosine alone turns rounding into 1e-6 degrees).
  const cv::Matx33d r = a.t() * b;
  const double twice_sine = std::hypot(r(2, 1) - r(1, 2), r(0, 2) - r(2, 0), r(1, 0) - r(0, 1));
  return std::atan2(twice_sine, cv::trace(r) - 1.0) * kDegrees;
}

}  // namespace fsc::face
