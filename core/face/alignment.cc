// Face alignment: Umeyama's least-squares similarity, fsc's 68-point mean face, and the aligned
// crop with Faceswap's "face" centring (the crop is centred on the face, found from a rough 3D
// head pose, rather than on the nose).
#include "core/face/alignment.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <opencv2/calib3d.hpp>
#include <opencv2/imgproc.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/face/head_pose.h"
#include "core/util/status_macros.h"

namespace fsc::face {
namespace {

constexpr int kNumLandmarks = 68;
constexpr int kFirstInner = 17;  // the jaw (0..16) is left out of the fit, as in Faceswap

// Faceswap's camera for pose estimation in the unit-square "legacy" aligned frame.
constexpr double kFocalLength = 4.0;
// The 3D point Faceswap centres "face" crops on: between the eyes, slightly in front of them.
constexpr double kFaceCentre3d[3] = {0.0, -1.5, 4.2};

bool AllFinite(const std::vector<cv::Point2f>& points) {
  return std::all_of(points.begin(), points.end(),
                     [](const cv::Point2f& p) { return std::isfinite(p.x) && std::isfinite(p.y); });
}

std::vector<cv::Point2f> Inner(const std::vector<cv::Point2f>& points) {
  return std::vector<cv::Point2f>(points.begin() + kFirstInner, points.end());
}

// Where the face centre lies, relative to (0.5, 0.5), in the unit "legacy" frame: solve the head
// pose from `legacy_landmarks` (already aligned to the unit mean face) and project the centre.
// Faceswap's PoseEstimate._get_offset. Returns false when the pose cannot be solved.
bool FaceCentreOffset(const std::vector<cv::Point2f>& legacy_landmarks, cv::Point2d* offset) {
  std::vector<cv::Point3d> object;
  std::vector<cv::Point2d> image;
  for (size_t i = 0; i < kHeadModelLandmarks.size(); ++i) {
    object.emplace_back(kHeadModel3d[i][0], kHeadModel3d[i][1], kHeadModel3d[i][2]);
    image.emplace_back(legacy_landmarks[kHeadModelLandmarks[i]]);
  }
  const cv::Matx33d camera(kFocalLength, 0, 0.5, 0, kFocalLength, 0.5, 0, 0, 1);
  cv::Vec3d rotation, translation;
  try {
    if (!cv::solvePnP(object, image, camera, cv::noArray(), rotation, translation, false,
                      cv::SOLVEPNP_ITERATIVE)) {
      return false;
    }
    std::vector<cv::Point2d> projected;
    cv::projectPoints(
        std::vector<cv::Point3d>{{kFaceCentre3d[0], kFaceCentre3d[1], kFaceCentre3d[2]}}, rotation,
        translation, camera, cv::noArray(), projected);
    *offset = projected[0] - cv::Point2d(0.5, 0.5);
  } catch (const cv::Exception&) {
    return false;
  }
  // A sane face keeps its centre near the middle of the unit frame; anything far off means the
  // pose solver diverged on odd landmarks.
  return std::isfinite(offset->x) && std::isfinite(offset->y) && std::abs(offset->x) < 0.5 &&
         std::abs(offset->y) < 0.5;
}

// The offset for the mean face itself (a frontal face): the fallback when a pose can't be solved.
const cv::Point2d& FrontalOffset() {
  static const cv::Point2d offset = [] {
    cv::Point2d value(0, 0);
    if (!FaceCentreOffset(MeanFace68(), &value)) value = cv::Point2d(0, 0);
    return value;
  }();
  return offset;
}

// 8-bit BGR view of `image` (grey and BGRA are converted; 16-bit is scaled down).
absl::StatusOr<cv::Mat> ToBgr8(const cv::Mat& image) {
  cv::Mat bgr = image;
  if (bgr.depth() == CV_16U) bgr.convertTo(bgr, CV_8U, 1.0 / 257.0);
  if (bgr.depth() != CV_8U) {
    return absl::InvalidArgumentError(
        absl::StrCat("AlignFace: image depth ", bgr.depth(), " is not 8 or 16-bit unsigned"));
  }
  switch (bgr.channels()) {
    case 3:
      return bgr;
    case 1:
      cv::cvtColor(bgr, bgr, cv::COLOR_GRAY2BGR);
      return bgr;
    case 4:
      cv::cvtColor(bgr, bgr, cv::COLOR_BGRA2BGR);
      return bgr;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("AlignFace: image has ", bgr.channels(), " channels; want 1, 3 or 4"));
  }
}

// Warps `image` into a size x size crop. Shrinking by more than 2x with a plain warp aliases
// badly, so the crop is rendered at an integer multiple of `size` and area-averaged down.
cv::Mat WarpCrop(const cv::Mat& image, const cv::Mat& transform, int size) {
  const double scale = std::sqrt(std::abs(cv::determinant(transform.colRange(0, 2))));
  if (scale >= 0.5) {
    cv::Mat crop;
    cv::warpAffine(image, crop, transform, {size, size},
                   scale > 1.0 ? cv::INTER_CUBIC : cv::INTER_LINEAR, cv::BORDER_CONSTANT);
    return crop;
  }
  const int factor = std::min(8, static_cast<int>(std::ceil(1.0 / scale)));
  cv::Mat big_transform = transform * factor;
  // Pixel centres: crop pixel (x, y) covers big pixels factor*x .. factor*x + factor - 1.
  big_transform.col(2) += (factor - 1) / 2.0;
  cv::Mat big, crop;
  cv::warpAffine(image, big, big_transform, {size * factor, size * factor}, cv::INTER_LINEAR,
                 cv::BORDER_CONSTANT);
  cv::resize(big, crop, {size, size}, 0, 0, cv::INTER_AREA);
  return crop;
}

}  // namespace

absl::StatusOr<cv::Mat> UmeyamaSimilarity(const std::vector<cv::Point2f>& from,
                                          const std::vector<cv::Point2f>& to) {
  if (from.size() != to.size()) {
    return absl::InvalidArgumentError(absl::StrCat("UmeyamaSimilarity: ", from.size(),
                                                   " source points but ", to.size(),
                                                   " target points; the sets must pair up"));
  }
  if (from.size() < 2) {
    return absl::InvalidArgumentError(absl::StrCat("UmeyamaSimilarity: ", from.size(),
                                                   " point pairs; a similarity needs at least 2"));
  }
  if (!AllFinite(from) || !AllFinite(to)) {
    return absl::InvalidArgumentError("UmeyamaSimilarity: points contain NaN or infinity");
  }
  const double n = static_cast<double>(from.size());
  cv::Point2d mean_from(0, 0), mean_to(0, 0);
  for (size_t i = 0; i < from.size(); ++i) {
    mean_from += cv::Point2d(from[i]);
    mean_to += cv::Point2d(to[i]);
  }
  mean_from /= n;
  mean_to /= n;

  // Covariance of the centred sets (Umeyama eq. 38) and the source variance (eq. 36).
  cv::Matx22d covariance = cv::Matx22d::zeros();
  double var_from = 0, var_to = 0;
  for (size_t i = 0; i < from.size(); ++i) {
    const cv::Point2d a = cv::Point2d(from[i]) - mean_from;
    const cv::Point2d b = cv::Point2d(to[i]) - mean_to;
    covariance += cv::Matx22d(b.x * a.x, b.x * a.y, b.y * a.x, b.y * a.y);
    var_from += a.dot(a);
    var_to += b.dot(b);
  }
  covariance *= 1.0 / n;
  var_from /= n;
  var_to /= n;
  // Relative to the coordinates' magnitude, so that rounding noise on coincident points is not
  // taken for spread.
  const double extent = std::max({1.0, cv::norm(mean_from), cv::norm(mean_to)});
  const double kTiny = 1e-12 * extent * extent;
  if (var_from <= kTiny || var_to <= kTiny) {
    return absl::InvalidArgumentError(
        "UmeyamaSimilarity: degenerate point set (all points coincide); no transform exists");
  }

  cv::Matx21d w;
  cv::Matx22d u, vt;
  cv::SVD::compute(covariance, w, u, vt);
  // S = diag(1, ±1) picks the nearest proper rotation: a reflection would fit mirrored points
  // better but would flip the face (eq. 39-43).
  double d = 1.0;
  if (cv::determinant(u) * cv::determinant(vt) < 0) d = -1.0;
  const cv::Matx22d rotation = u * cv::Matx22d(1, 0, 0, d) * vt;
  const double scale = (w(0) + d * w(1)) / var_from;
  if (!(scale > 1e-12)) {
    return absl::InvalidArgumentError(
        "UmeyamaSimilarity: degenerate correspondence (the points do not determine a rotation)");
  }
  const cv::Matx22d linear = rotation * scale;
  const cv::Vec2d translation =
      cv::Vec2d(mean_to.x, mean_to.y) - linear * cv::Vec2d(mean_from.x, mean_from.y);

  cv::Mat result(2, 3, CV_64F);
  for (int r = 0; r < 2; ++r) {
    result.at<double>(r, 0) = linear(r, 0);
    result.at<double>(r, 1) = linear(r, 1);
    result.at<double>(r, 2) = translation(r);
  }
  return result;
}

const std::vector<cv::Point2f>& MeanFace68() {
  static const std::vector<cv::Point2f> kMeanFace = [] {
    // Jaw 0..16: not part of Faceswap's mean face (so it pokes out of the unit square).
    // Extrapolated from the dlib-based mean shape published by OpenFace (openface/align_dlib.py
    // TEMPLATE): its inner 51 points were fitted onto the points below with UmeyamaSimilarity, its
    // jaw mapped through the same transform and made symmetric about x = 0.5 (as the mean face is).
    static constexpr float kJaw[17][2] = {
        {-0.107925, 0.217889}, {-0.104974, 0.379655}, {-0.089055, 0.542664}, {-0.056945, 0.703218},
        {0.005189, 0.852702},  {0.101584, 0.983881},  {0.218932, 1.095599},  {0.350761, 1.186739},
        {0.500000, 1.212968},  {0.649239, 1.186739},  {0.781068, 1.095599},  {0.898416, 0.983881},
        {0.994811, 0.852702},  {1.056945, 0.703218},  {1.089055, 0.542664},  {1.104974, 0.379655},
        {1.107925, 0.217889}};
    // Landmarks 17..67: Faceswap's _MEAN_FACE[LandmarkType.LM_2D_51] (lib/align/constants.py),
    // in the unit square.
    static constexpr float kInner[51][2] = {
        {0.010086, 0.106454}, {0.085135, 0.038915}, {0.191003, 0.018748}, {0.300643, 0.034489},
        {0.403270, 0.077391}, {0.596729, 0.077391}, {0.699356, 0.034489}, {0.808997, 0.018748},
        {0.914864, 0.038915}, {0.989913, 0.106454}, {0.500000, 0.203352}, {0.500000, 0.307009},
        {0.500000, 0.409805}, {0.500000, 0.515625}, {0.376753, 0.587326}, {0.435909, 0.609345},
        {0.500000, 0.628106}, {0.564090, 0.609345}, {0.623246, 0.587326}, {0.131610, 0.216423},
        {0.196995, 0.178758}, {0.275698, 0.179852}, {0.344479, 0.231733}, {0.270791, 0.245099},
        {0.192616, 0.244077}, {0.655520, 0.231733}, {0.724301, 0.179852}, {0.803005, 0.178758},
        {0.868389, 0.216423}, {0.807383, 0.244077}, {0.729208, 0.245099}, {0.264022, 0.780233},
        {0.350858, 0.745405}, {0.438731, 0.727388}, {0.500000, 0.742578}, {0.561268, 0.727388},
        {0.649141, 0.745405}, {0.735977, 0.780233}, {0.652032, 0.864805}, {0.566594, 0.902192},
        {0.500000, 0.909281}, {0.433405, 0.902192}, {0.347967, 0.864805}, {0.300252, 0.784792},
        {0.437969, 0.778746}, {0.500000, 0.785343}, {0.562030, 0.778746}, {0.699747, 0.784792},
        {0.563237, 0.824182}, {0.500000, 0.831803}, {0.436763, 0.824182}};
    std::vector<cv::Point2f> points;
    points.reserve(kNumLandmarks);
    for (const auto& p : kJaw) points.emplace_back(p[0], p[1]);
    for (const auto& p : kInner) points.emplace_back(p[0], p[1]);
    return points;
  }();
  return kMeanFace;
}

absl::StatusOr<cv::Mat> AlignmentTransform(const Landmarks& landmarks, int size, double padding) {
  if (landmarks.size() != kNumLandmarks) {
    return absl::InvalidArgumentError(absl::StrCat("AlignFace: got ", landmarks.size(),
                                                   " landmarks; want the 68-point iBUG layout"));
  }
  if (size < 8) {
    return absl::InvalidArgumentError(
        absl::StrCat("AlignFace: crop size ", size, " is too small; use at least 8 pixels"));
  }
  if (!(padding >= 0.0 && padding < 0.5)) {
    return absl::InvalidArgumentError(
        absl::StrCat("AlignFace: padding ", padding, " must be in [0, 0.5)"));
  }
  // 1. Faceswap's "legacy" matrix: inner landmarks onto the unit mean face.
  FSC_ASSIGN_OR_RETURN(cv::Mat legacy, UmeyamaSimilarity(Inner(landmarks), Inner(MeanFace68())));
  // 2. Re-centre on the face: shift by where the head pose puts the face centre.
  cv::Point2d offset;
  if (!FaceCentreOffset(TransformPoints(legacy, landmarks), &offset)) offset = FrontalOffset();
  legacy.at<double>(0, 2) -= offset.x;
  legacy.at<double>(1, 2) -= offset.y;
  // 3. Scale the unit square into the crop, leaving `padding` on every side.
  const double pad = padding * size;
  cv::Mat transform = legacy * (size - 2.0 * pad);
  transform.at<double>(0, 2) += pad;
  transform.at<double>(1, 2) += pad;
  return transform;
}

absl::StatusOr<AlignedFace> AlignFace(const cv::Mat& image, const Landmarks& landmarks, int size,
                                      double padding) {
  if (image.empty()) return absl::InvalidArgumentError("AlignFace: the image is empty");
  FSC_ASSIGN_OR_RETURN(cv::Mat transform, AlignmentTransform(landmarks, size, padding));
  AlignedFace aligned;
  FSC_ASSIGN_OR_RETURN(aligned.image, WarpAlignedCrop(image, transform, size));
  aligned.aligned_landmarks = TransformPoints(transform, landmarks);
  aligned.transform = std::move(transform);
  return aligned;
}

std::vector<cv::Point2f> TransformPoints(const cv::Mat& transform,
                                         const std::vector<cv::Point2f>& points) {
  CV_Assert(transform.rows == 2 && transform.cols == 3);
  cv::Mat m;
  transform.convertTo(m, CV_64F);
  const double* r0 = m.ptr<double>(0);
  const double* r1 = m.ptr<double>(1);
  std::vector<cv::Point2f> out;
  out.reserve(points.size());
  for (const cv::Point2f& p : points) {
    out.emplace_back(static_cast<float>(r0[0] * p.x + r0[1] * p.y + r0[2]),
                     static_cast<float>(r1[0] * p.x + r1[1] * p.y + r1[2]));
  }
  return out;
}

void SetLandmarkPoints(const Landmarks& landmarks, ProtoPoints* out) {
  out->Clear();
  out->Reserve(static_cast<int>(landmarks.size()));
  for (const cv::Point2f& p : landmarks) {
    proto::Point* point = out->Add();
    point->set_x(p.x);
    point->set_y(p.y);
  }
}

Landmarks LandmarksFromPoints(const ProtoPoints& points) {
  Landmarks landmarks;
  landmarks.reserve(points.size());
  for (const proto::Point& p : points) landmarks.emplace_back(p.x(), p.y());
  return landmarks;
}

absl::StatusOr<cv::Mat> WarpAlignedCrop(const cv::Mat& image, const cv::Mat& transform, int size) {
  if (image.empty()) return absl::InvalidArgumentError("AlignFace: the image is empty");
  if (transform.rows != 2 || transform.cols != 3 || size < 8) {
    return absl::InvalidArgumentError(absl::StrCat("AlignFace: a ", transform.rows, "x",
                                                   transform.cols, " transform to a ", size,
                                                   " px crop; want 2x3 and at least 8 pixels"));
  }
  FSC_ASSIGN_OR_RETURN(cv::Mat bgr, ToBgr8(image));
  cv::Mat transform64;
  transform.convertTo(transform64, CV_64F);
  return WarpCrop(bgr, transform64, size);
}

cv::Mat TransformOf(const proto::Face& face) {
  if (face.transform().m_size() != 6) return {};
  cv::Mat m(2, 3, CV_64F);
  for (int i = 0; i < 6; ++i) {
    const double v = face.transform().m(i);
    if (!std::isfinite(v)) return {};
    m.at<double>(i / 3, i % 3) = v;
  }
  return m;
}

}  // namespace fsc::face
