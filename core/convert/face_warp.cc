// Frame <-> model-space warps of fsc convert (see face_warp.h).
#include "core/convert/face_warp.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "absl/strings/str_cat.h"

namespace fsc::convert {
namespace {

// Composes 2x3 affines: first `a`, then `b`.
cv::Mat Compose(const cv::Mat& b, const cv::Mat& a) {
  cv::Mat a3 = cv::Mat::eye(3, 3, CV_64F), b3 = cv::Mat::eye(3, 3, CV_64F);
  a.copyTo(a3.rowRange(0, 2));
  b.copyTo(b3.rowRange(0, 2));
  return cv::Mat(b3 * a3).rowRange(0, 2).clone();
}

double Scale(const cv::Mat& affine) {
  return std::sqrt(std::abs(cv::determinant(affine.colRange(0, 2))));
}

// The same affine applied to ROI pixels instead of frame pixels.
cv::Mat ShiftedBy(const cv::Mat& affine, cv::Point origin) {
  cv::Mat out = affine.clone();
  out.at<double>(0, 2) += affine.at<double>(0, 0) * origin.x + affine.at<double>(0, 1) * origin.y;
  out.at<double>(1, 2) += affine.at<double>(1, 0) * origin.x + affine.at<double>(1, 1) * origin.y;
  return out;
}

}  // namespace

absl::StatusOr<FaceGeometry> ComputeFaceGeometry(const cv::Mat& to_aligned, int aligned_size,
                                                 double coverage, int model_size,
                                                 cv::Size frame_size, int margin) {
  if (to_aligned.rows != 2 || to_aligned.cols != 3 || aligned_size < 8 || model_size < 8) {
    return absl::InvalidArgumentError(
        "face transform must be 2x3 with aligned and model sizes >= 8");
  }
  cv::Mat m;
  to_aligned.convertTo(m, CV_64F);
  const double scale = Scale(m);
  if (!std::isfinite(scale) || scale < 1e-6) {
    return absl::InvalidArgumentError("face transform is degenerate");
  }
  const int n = aligned_size;
  const int pad = std::min(static_cast<int>(std::lround(n * (1.0 - coverage) / 2)), (n - 1) / 2);
  const int crop = n - 2 * pad;
  // Pixel centres at integer coordinates, as cv::resize: p' = (p - pad + ½) · S / crop − ½.
  const double k = static_cast<double>(model_size) / crop;
  cv::Mat coverage_crop =
      (cv::Mat_<double>(2, 3) << k, 0, (0.5 - pad) * k - 0.5, 0, k, (0.5 - pad) * k - 0.5);
  FaceGeometry g;
  g.model_size = model_size;
  g.to_model = Compose(coverage_crop, m);
  g.frame_per_aligned = 1.0 / scale;
  g.frame_per_model = 1.0 / Scale(g.to_model);

  cv::Mat to_frame;
  cv::invertAffineTransform(g.to_model, to_frame);
  const double lo = -0.5, hi = model_size - 0.5;
  std::vector<cv::Point2d> corners = {{lo, lo}, {hi, lo}, {hi, hi}, {lo, hi}};
  double x0 = 1e18, y0 = 1e18, x1 = -1e18, y1 = -1e18;
  for (const cv::Point2d& c : corners) {
    const double x = to_frame.at<double>(0, 0) * c.x + to_frame.at<double>(0, 1) * c.y +
                     to_frame.at<double>(0, 2);
    const double y = to_frame.at<double>(1, 0) * c.x + to_frame.at<double>(1, 1) * c.y +
                     to_frame.at<double>(1, 2);
    x0 = std::min(x0, x), y0 = std::min(y0, y), x1 = std::max(x1, x), y1 = std::max(y1, y);
  }
  const cv::Rect frame(0, 0, frame_size.width, frame_size.height);
  const int left = static_cast<int>(std::floor(std::max(x0 - margin, -1.0)));
  const int top = static_cast<int>(std::floor(std::max(y0 - margin, -1.0)));
  const int right = static_cast<int>(std::ceil(std::min(x1 + margin, frame_size.width + 1.0)));
  const int bottom = static_cast<int>(std::ceil(std::min(y1 + margin, frame_size.height + 1.0)));
  g.roi = cv::Rect(left, top, std::max(0, right - left), std::max(0, bottom - top)) & frame;
  g.roi_to_model = ShiftedBy(g.to_model, g.roi.tl());
  return g;
}

cv::Mat WarpToModel(const cv::Mat& frame, const FaceGeometry& g) {
  const int size = g.model_size;
  const double scale = 1.0 / g.frame_per_model;
  cv::Mat out;
  if (scale >= 0.5) {
    cv::warpAffine(frame, out, g.to_model, {size, size},
                   scale > 1.0 ? cv::INTER_CUBIC : cv::INTER_LINEAR, cv::BORDER_CONSTANT);
    return out;
  }
  // As core/face/alignment's crop: supersample by an integer factor, then area-average.
  const int factor = std::min(8, static_cast<int>(std::ceil(1.0 / scale)));
  cv::Mat big_transform = g.to_model * factor;
  big_transform.col(2) += (factor - 1) / 2.0;
  cv::Mat big;
  cv::warpAffine(frame, big, big_transform, {size * factor, size * factor}, cv::INTER_LINEAR,
                 cv::BORDER_CONSTANT);
  cv::resize(big, out, {size, size}, 0, 0, cv::INTER_AREA);
  return out;
}

cv::Mat WarpToRoi(const cv::Mat& model_image, const FaceGeometry& g, int interpolation,
                  int border) {
  cv::Mat out;
  cv::warpAffine(model_image, out, g.roi_to_model, g.roi.size(),
                 interpolation | cv::WARP_INVERSE_MAP, border, cv::Scalar::all(0));
  return out;
}

cv::Mat UpscaleToRoi(const cv::Mat& model_image, const FaceGeometry& g) {
  const double k = g.frame_per_model;
  if (!(k > 1.0)) return WarpToRoi(model_image, g, cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  const int side = static_cast<int>(std::ceil(model_image.cols * k));
  const double kx = static_cast<double>(side) / model_image.cols;
  const double ky = static_cast<double>(side) / model_image.rows;
  cv::Mat big;
  cv::resize(model_image, big, {side, side}, 0, 0, cv::INTER_CUBIC);
  // roi -> model, then model -> big in cv::resize's pixel-centre convention.
  cv::Mat roi_to_big;
  g.roi_to_model.convertTo(roi_to_big, CV_64F);
  roi_to_big.row(0) *= kx;
  roi_to_big.row(1) *= ky;
  roi_to_big.at<double>(0, 2) += 0.5 * kx - 0.5;
  roi_to_big.at<double>(1, 2) += 0.5 * ky - 0.5;
  cv::Mat out;
  cv::warpAffine(big, out, roi_to_big, g.roi.size(), cv::INTER_LINEAR | cv::WARP_INVERSE_MAP,
                 cv::BORDER_REPLICATE);
  return out;
}

cv::Mat WarpAlignedToRoi(const cv::Mat& aligned_image, const cv::Mat& to_aligned, int aligned_size,
                         const FaceGeometry& g) {
  cv::Mat m;
  to_aligned.convertTo(m, CV_64F);
  // The stored masks are the aligned frame scaled by side / aligned_size (extractor.cc).
  m *= static_cast<double>(aligned_image.cols) / aligned_size;
  cv::Mat out;
  cv::warpAffine(aligned_image, out, ShiftedBy(m, g.roi.tl()), g.roi.size(),
                 cv::INTER_LINEAR | cv::WARP_INVERSE_MAP, cv::BORDER_CONSTANT, cv::Scalar::all(0));
  return out;
}

}  // namespace fsc::convert
