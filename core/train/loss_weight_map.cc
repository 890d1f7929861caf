// Loss weight maps from a face mask and the eye / mouth regions of 68 landmarks.
#include "core/train/loss_weight_map.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <opencv2/imgproc.hpp>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace fsc::train {
namespace {

constexpr int kNumLandmarks = 68;
// Fractional bits for filling hulls: small faces keep their eye shapes.
constexpr int kShift = 4;

using Range = std::pair<int, int>;  // half-open landmark index range

// A 0..1 float map of the union of the convex hulls of `ranges` (one hull each), dilated by
// `dilation` px and blurred with an odd Gaussian kernel of `blur` px (none when < 3).
cv::Mat RegionMap(const std::vector<cv::Point2f>& points, std::initializer_list<Range> ranges,
                  cv::Size size, int dilation, int blur) {
  cv::Mat region = cv::Mat::zeros(size, CV_8UC1);
  for (const Range& range : ranges) {
    std::vector<cv::Point2f> part(points.begin() + range.first, points.begin() + range.second);
    std::vector<cv::Point2f> hull;
    cv::convexHull(part, hull);
    std::vector<cv::Point> fixed;
    for (const cv::Point2f& p : hull) {
      fixed.emplace_back(cvRound(p.x * (1 << kShift)), cvRound(p.y * (1 << kShift)));
    }
    cv::fillConvexPoly(region, fixed, cv::Scalar(255), cv::LINE_8, kShift);
  }
  if (dilation > 0) {
    const cv::Mat kernel =
        cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(2 * dilation + 1, 2 * dilation + 1));
    cv::dilate(region, region, kernel);
  }
  cv::Mat out;
  region.convertTo(out, CV_32F, 1.0 / 255);
  if (blur >= 3) cv::GaussianBlur(out, out, cv::Size(blur, blur), 0);
  return out;
}

absl::Status CheckInputs(const std::vector<cv::Point2f>& landmarks, cv::Size size,
                         const cv::Mat& mask, const LossWeightOptions& options) {
  if (size.width <= 0 || size.height <= 0) {
    return absl::InvalidArgumentError("loss weight map size must be positive");
  }
  if (!landmarks.empty()) {
    if (landmarks.size() != kNumLandmarks) {
      return absl::InvalidArgumentError(
          absl::StrCat("loss weights need 68 landmarks (or none), got ", landmarks.size()));
    }
    for (const cv::Point2f& p : landmarks) {
      if (!std::isfinite(p.x) || !std::isfinite(p.y)) {
        return absl::InvalidArgumentError("loss weights got a non-finite landmark");
      }
    }
  }
  if (!mask.empty() &&
      (mask.size() != size || (mask.type() != CV_8UC1 && mask.type() != CV_32FC1))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "loss weight mask must be ", size.width, " x ", size.height, " CV_8UC1 or CV_32FC1, got ",
        mask.cols, " x ", mask.rows, " of type ", mask.type()));
  }
  for (double m : {options.eye_multiplier, options.mouth_multiplier}) {
    if (!std::isfinite(m) || m < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("eye and mouth multipliers must be finite and >= 0, got ", m));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<cv::Mat> BuildLossWeightMap(const std::vector<cv::Point2f>& landmarks, cv::Size size,
                                           const cv::Mat& mask, const LossWeightOptions& options) {
  if (absl::Status valid = CheckInputs(landmarks, size, mask, options); !valid.ok()) return valid;
  cv::Mat weight(size, CV_32FC1, cv::Scalar(1.0));
  if (!landmarks.empty()) {
    const int side = std::min(size.width, size.height);
    const int dilation = static_cast<int>(std::lround(side * options.dilation_fraction));
    const int blur = static_cast<int>(std::lround(side * options.blur_fraction)) | 1;  // odd
    if (options.eye_multiplier != 1.0) {
      const cv::Mat eyes = RegionMap(landmarks, {{36, 42}, {42, 48}}, size, dilation, blur);
      weight += eyes * (options.eye_multiplier - 1.0);
    }
    if (options.mouth_multiplier != 1.0) {
      const cv::Mat mouth = RegionMap(landmarks, {{48, 60}}, size, dilation, blur);
      weight += mouth * (options.mouth_multiplier - 1.0);
    }
  }
  if (!mask.empty()) {
    cv::Mat m;
    mask.convertTo(m, CV_32F, mask.type() == CV_8UC1 ? 1.0 / 255 : 1.0);
    weight = weight.mul(m);
  }
  return weight;
}

}  // namespace fsc::train
