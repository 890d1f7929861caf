// Temporal difference inside a face mask, swapped vs source.
#include "core/eval/flicker.h"

#include <limits>
#include <opencv2/core.hpp>

namespace fsc::eval {
namespace {

// Sum over mask pixels of the channel mean of |a - b|.
double MaskedAbsDiff(const cv::Mat& a, const cv::Mat& b, const cv::Mat& mask) {
  cv::Mat diff;
  cv::absdiff(a, b, diff);
  const cv::Scalar sum = cv::sum(diff.setTo(cv::Scalar::all(0), mask == 0));
  return (sum[0] + sum[1] + sum[2]) / 3.0;
}

}  // namespace

FlickerSample& FlickerSample::operator+=(const FlickerSample& other) {
  source += other.source;
  swapped += other.swapped;
  pixels += other.pixels;
  return *this;
}

FlickerSample MeasureFlicker(const cv::Mat& source_previous, const cv::Mat& source,
                             const cv::Mat& swapped_previous, const cv::Mat& swapped,
                             const cv::Mat& mask, const cv::Rect& roi) {
  FlickerSample sample;
  sample.pixels = cv::countNonZero(mask);
  if (sample.pixels == 0) return sample;
  sample.source = MaskedAbsDiff(source_previous(roi), source(roi), mask);
  sample.swapped = MaskedAbsDiff(swapped_previous(roi), swapped(roi), mask);
  return sample;
}

double FlickerRatio(const FlickerSample& sample) {
  if (!(sample.source > 0)) return std::numeric_limits<double>::quiet_NaN();
  return sample.swapped / sample.source;
}

}  // namespace fsc::eval
