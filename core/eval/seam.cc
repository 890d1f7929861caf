// The seam along a face mask's outline: colour step across it and lightness gradient in a band.
#include "core/eval/seam.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>
#include <vector>

namespace fsc::eval {
namespace {

// CIELAB of an 8-bit BGR image, float (L 0..100).
cv::Mat ToLab(const cv::Mat& bgr) {
  cv::Mat scaled, lab;
  bgr.convertTo(scaled, CV_32FC3, 1.0 / 255.0);
  cv::cvtColor(scaled, lab, cv::COLOR_BGR2Lab);
  return lab;
}

cv::Vec3f Bilinear(const cv::Mat& image, cv::Point2d p) {
  cv::Mat patch;
  cv::getRectSubPix(image, {1, 1}, cv::Point2f(p), patch);
  return patch.at<cv::Vec3f>(0, 0);
}

// Mean |grad L| sum over `band_mask` pixels of a Lab image.
double GradientSum(const cv::Mat& lab, const cv::Mat& band_mask) {
  cv::Mat lightness, gx, gy, magnitude;
  cv::extractChannel(lab, lightness, 0);
  cv::Sobel(lightness, gx, CV_32F, 1, 0, 3, 1.0 / 8.0);  // per pixel: the kernel weights sum to 8
  cv::Sobel(lightness, gy, CV_32F, 0, 1, 3, 1.0 / 8.0);
  cv::magnitude(gx, gy, magnitude);
  return cv::sum(magnitude.setTo(0, band_mask == 0))[0];
}

// Pixels within `band` of the mask's outline, inside or out.
cv::Mat BandMask(const cv::Mat& mask, double band) {
  cv::Mat inside = mask != 0, outside = mask == 0, to_outside, to_inside;
  cv::distanceTransform(inside, to_outside, cv::DIST_L2, cv::DIST_MASK_PRECISE);
  cv::distanceTransform(outside, to_inside, cv::DIST_L2, cv::DIST_MASK_PRECISE);
  return (inside & (to_outside <= band)) | (outside & (to_inside <= band));
}

}  // namespace

SeamSample& SeamSample::operator+=(const SeamSample& other) {
  points += other.points;
  color_step_source += other.color_step_source;
  color_step_swapped += other.color_step_swapped;
  band_pixels += other.band_pixels;
  gradient_source += other.gradient_source;
  gradient_swapped += other.gradient_swapped;
  return *this;
}

SeamSample MeasureSeam(const cv::Mat& source, const cv::Mat& swapped, const cv::Mat& mask,
                       const cv::Rect& roi, double band) {
  SeamSample sample;
  band = std::max(1.0, band);
  // Work on the ROI grown by the band, so samples outside the mask's box exist.
  const int grow = static_cast<int>(std::ceil(band)) + 2;
  const cv::Rect frame(0, 0, source.cols, source.rows);
  const cv::Rect work =
      cv::Rect(roi.x - grow, roi.y - grow, roi.width + 2 * grow, roi.height + 2 * grow) & frame;
  if (work.empty()) return sample;
  cv::Mat region = cv::Mat::zeros(work.size(), CV_8UC1);
  const cv::Rect inner = roi & frame;
  mask(cv::Rect(inner.tl() - roi.tl(), inner.size()))
      .copyTo(region(cv::Rect(inner.tl() - work.tl(), inner.size())));
  if (cv::countNonZero(region) == 0) return sample;

  const cv::Mat lab_source = ToLab(source(work)), lab_swapped = ToLab(swapped(work));
  const cv::Mat band_mask = BandMask(region, band);
  sample.band_pixels = cv::countNonZero(band_mask);
  sample.gradient_source = GradientSum(lab_source, band_mask);
  sample.gradient_swapped = GradientSum(lab_swapped, band_mask);

  // Colour step along the outline's normals, on lightly blurred colour.
  const double sigma = std::max(0.8, band / 4.0);
  cv::Mat smooth_source, smooth_swapped;
  cv::GaussianBlur(lab_source, smooth_source, {0, 0}, sigma);
  cv::GaussianBlur(lab_swapped, smooth_swapped, {0, 0}, sigma);
  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(region, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_NONE);
  const int step = std::max(1, static_cast<int>(band / 2));
  const int reach = std::max(2, static_cast<int>(band / 2));  // tangent from points this far off
  const cv::Rect2d inside_work(1, 1, work.width - 2, work.height - 2);
  for (const std::vector<cv::Point>& contour : contours) {
    const int n = static_cast<int>(contour.size());
    if (n < 2 * reach + 1) continue;
    for (int i = 0; i < n; i += step) {
      const cv::Point2d tangent =
          cv::Point2d(contour[(i + reach) % n]) - cv::Point2d(contour[(i - reach + n) % n]);
      const double length = cv::norm(tangent);
      if (length < 1e-6) continue;
      cv::Point2d normal(tangent.y / length, -tangent.x / length);
      const cv::Point2d p(contour[i]);
      // Point the normal outwards.
      const cv::Point probe(cvRound(p.x + 2 * normal.x), cvRound(p.y + 2 * normal.y));
      if (probe.inside(cv::Rect(0, 0, work.width, work.height)) && region.at<uchar>(probe) != 0) {
        normal = -normal;
      }
      const cv::Point2d in = p - band * normal, out = p + band * normal;
      if (!inside_work.contains(in) || !inside_work.contains(out)) continue;
      // Skip where the outline folds back (the samples would land on the wrong side).
      if (region.at<uchar>(cv::Point(cvRound(in.x), cvRound(in.y))) == 0 ||
          region.at<uchar>(cv::Point(cvRound(out.x), cvRound(out.y))) != 0) {
        continue;
      }
      sample.color_step_source +=
          cv::norm(Bilinear(smooth_source, in) - Bilinear(smooth_source, out));
      sample.color_step_swapped +=
          cv::norm(Bilinear(smooth_swapped, in) - Bilinear(smooth_swapped, out));
      ++sample.points;
    }
  }
  return sample;
}

}  // namespace fsc::eval
