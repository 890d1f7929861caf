// Landmark masks in Faceswap's flavours: the whole-face hull, "components" (a union of part
// hulls that follows the face's outline more closely than one hull) and "extended" (components
// with the brows lifted so the mask reaches up the forehead).
#include "core/face/mask.h"

#include <cmath>
#include <initializer_list>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace fsc::face {
namespace {

constexpr int kNumLandmarks = 68;
// Sub-pixel precision for filling: polygon vertices keep 4 fractional bits instead of being
// rounded to whole pixels, so small masks keep their shape.
constexpr int kShift = 4;

// Half-open index range [begin, end) of the 68 landmarks.
using Range = std::pair<int, int>;

// Fills the convex hull of the union of `ranges` of `points` with 255.
void FillHull(const Landmarks& points, std::initializer_list<Range> ranges, cv::Mat& mask) {
  std::vector<cv::Point2f> part;
  for (const Range& range : ranges) {
    part.insert(part.end(), points.begin() + range.first, points.begin() + range.second);
  }
  std::vector<cv::Point2f> hull;
  cv::convexHull(part, hull);
  std::vector<cv::Point> fixed;
  fixed.reserve(hull.size());
  for (const cv::Point2f& p : hull) {
    fixed.emplace_back(cvRound(p.x * (1 << kShift)), cvRound(p.y * (1 << kShift)));
  }
  cv::fillConvexPoly(mask, fixed, cv::Scalar(255), cv::LINE_8, kShift);
}

// Faceswap's components mask (plugins/extract/mask/components.py): eight part hulls, each tied
// to the chin (8) so that together they cover the face without the hull's cheek bulges.
void FillComponents(const Landmarks& p, cv::Mat& mask) {
  FillHull(p, {{0, 9}, {17, 18}}, mask);                      // right jaw
  FillHull(p, {{8, 17}, {26, 27}}, mask);                     // left jaw
  FillHull(p, {{17, 20}, {8, 9}}, mask);                      // right cheek
  FillHull(p, {{24, 27}, {8, 9}}, mask);                      // left cheek
  FillHull(p, {{19, 25}, {8, 9}}, mask);                      // nose ridge
  FillHull(p, {{17, 22}, {27, 28}, {31, 36}, {8, 9}}, mask);  // right eye
  FillHull(p, {{22, 27}, {27, 28}, {31, 36}, {8, 9}}, mask);  // left eye
  FillHull(p, {{27, 31}, {31, 36}}, mask);                    // nose
}

// Faceswap's extended mask (plugins/extract/mask/extended.py): each brow point moves away from
// the eye point below it by half their distance, which reaches roughly half way up the forehead.
Landmarks LiftBrows(Landmarks p) {
  // Outer ends of the eye line, a quarter of the way from the outer eye corners to the jaw.
  const cv::Point2f right_outer = p[36] + (p[0] - p[36]) * 0.25f;
  const cv::Point2f left_outer = p[45] + (p[16] - p[45]) * 0.25f;
  const cv::Point2f below_right[5] = {right_outer, p[36], p[37], p[38], p[39]};
  const cv::Point2f below_left[5] = {p[42], p[43], p[44], p[45], left_outer};
  for (int i = 0; i < 5; ++i) {
    p[17 + i] += (p[17 + i] - below_right[i]) * 0.5f;
    p[22 + i] += (p[22 + i] - below_left[i]) * 0.5f;
  }
  return p;
}

}  // namespace

absl::StatusOr<MaskType> ParseMaskType(const std::string& name) {
  const std::string lower = absl::AsciiStrToLower(name);
  for (MaskType type : {MaskType::kHull, MaskType::kComponents, MaskType::kExtended}) {
    if (lower == MaskTypeName(type)) return type;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown mask type \"", name, "\"; use hull, components or extended"));
}

std::string MaskTypeName(MaskType type) {
  switch (type) {
    case MaskType::kHull:
      return "hull";
    case MaskType::kComponents:
      return "components";
    case MaskType::kExtended:
      return "extended";
  }
  return "unknown";
}

cv::Mat BuildLandmarkMask(const Landmarks& landmarks, cv::Size size, MaskType type) {
  if (landmarks.size() != kNumLandmarks || size.width <= 0 || size.height <= 0) return cv::Mat();
  for (const cv::Point2f& p : landmarks) {
    // Far-off or non-finite points would overflow the fixed-point vertices.
    if (!(std::abs(p.x) < 1e6f && std::abs(p.y) < 1e6f)) return cv::Mat();
  }
  cv::Mat mask = cv::Mat::zeros(size, CV_8UC1);
  switch (type) {
    case MaskType::kHull:
      FillHull(landmarks, {{0, kNumLandmarks}}, mask);
      break;
    case MaskType::kComponents:
      FillComponents(landmarks, mask);
      break;
    case MaskType::kExtended:
      FillComponents(LiftBrows(landmarks), mask);
      break;
  }
  return mask;
}

proto::MaskKind MaskKindOf(MaskType type) {
  switch (type) {
    case MaskType::kHull:
      return proto::MASK_HULL;
    case MaskType::kComponents:
      return proto::MASK_COMPONENTS;
    case MaskType::kExtended:
      return proto::MASK_EXTENDED;
  }
  return proto::MASK_UNKNOWN;
}

absl::StatusOr<MaskType> MaskTypeOf(proto::MaskKind kind) {
  switch (kind) {
    case proto::MASK_HULL:
      return MaskType::kHull;
    case proto::MASK_COMPONENTS:
      return MaskType::kComponents;
    case proto::MASK_EXTENDED:
      return MaskType::kExtended;
    default:
      return absl::NotFoundError("unknown mask kind");
  }
}

proto::Mask EncodeLandmarkMask(const Landmarks& aligned_landmarks, int aligned_size, int size,
                               MaskType type) {
  const float scale = static_cast<float>(size) / aligned_size;
  Landmarks points;
  for (const cv::Point2f& p : aligned_landmarks) points.push_back(p * scale);
  const cv::Mat image = BuildLandmarkMask(points, {size, size}, type);
  std::vector<uchar> png;
  if (!image.empty()) cv::imencode(".png", image, png);
  proto::Mask mask;
  mask.set_kind(MaskKindOf(type));
  mask.set_size(size);
  mask.set_png(png.data(), png.size());
  return mask;
}

}  // namespace fsc::face
