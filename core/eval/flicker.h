// Flicker of a swapped face: the mean absolute difference between consecutive frames inside the
// face's mask (0..255 levels, averaged over the B, G and R channels), in the swapped video and, on
// the same pixels, in the source. The source's own value is what motion, expression and lighting
// account for; the ratio swapped / source says what the swap adds (1: nothing; above 1: the face
// flickers or shakes more than the person did; below 1: the swap is stiller than the source, e.g.
// a blurred or frozen face).
#ifndef FSC_CORE_EVAL_FLICKER_H_
#define FSC_CORE_EVAL_FLICKER_H_

#include <cstdint>
#include <opencv2/core.hpp>

namespace fsc::eval {

struct FlickerSample {
  double source = 0;  // sum over mask pixels of the mean-over-channels |difference|
  double swapped = 0;
  int64_t pixels = 0;  // mask pixels measured

  double source_mean() const { return pixels > 0 ? source / pixels : 0; }
  double swapped_mean() const { return pixels > 0 ? swapped / pixels : 0; }
  FlickerSample& operator+=(const FlickerSample& other);
};

// Frames are 8-bit BGR of one size; `mask` (CV_8UC1, non-zero inside) covers `roi` of them.
FlickerSample MeasureFlicker(const cv::Mat& source_previous, const cv::Mat& source,
                             const cv::Mat& swapped_previous, const cv::Mat& swapped,
                             const cv::Mat& mask, const cv::Rect& roi);

// swapped / source; NaN when the source did not change at all (there is nothing to compare with).
double FlickerRatio(const FlickerSample& sample);

}  // namespace fsc::eval

#endif  // FSC_CORE_EVAL_FLICKER_H_
