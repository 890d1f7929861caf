// Blend quality at the edge of a swapped face: the seam a composite leaves along its mask.
//
// Two figures, each measured on the swapped frame and, on the same pixels, on the source frame
// (whose own edges there, jaw against background, hairline, are what the scene has anyway):
//  - colour step: at boundary points about every `band`/2 pixels along the mask's outline, the
//    CIE76 colour difference (Delta E in CIELAB, 1 ~ just noticeable, 2.3 ~ a JND for most
//    people) between the frame `band` pixels inside and `band` pixels outside the outline,
//    along its normal, after a light blur against noise. A patch pasted in another colour
//    raises it by about the colour difference of the patch; a good blend leaves it where the
//    source had it.
//  - gradient: the mean magnitude of the lightness gradient (Sobel, CIELAB L per pixel) over
//    the band of pixels within `band` of the outline. A hard edge raises it; a feather that
//    spreads a step over the band lowers the peak but not the colour step.
// `band` is chosen by the caller to span the blend's feather (fsc eval: 12 aligned-face pixels
// at 256, about convert's default --mask-blur 8 plus a margin).
#ifndef FSC_CORE_EVAL_SEAM_H_
#define FSC_CORE_EVAL_SEAM_H_

#include <cstdint>
#include <opencv2/core.hpp>

namespace fsc::eval {

struct SeamSample {
  int64_t points = 0;  // boundary points where the colour step was measured
  double color_step_source = 0, color_step_swapped = 0;  // sums of Delta E over the points
  int64_t band_pixels = 0;
  double gradient_source = 0, gradient_swapped = 0;  // sums of |grad L| over the band

  SeamSample& operator+=(const SeamSample& other);
  double color_step_source_mean() const { return points > 0 ? color_step_source / points : 0; }
  double color_step_swapped_mean() const { return points > 0 ? color_step_swapped / points : 0; }
  double gradient_source_mean() const {
    return band_pixels > 0 ? gradient_source / band_pixels : 0;
  }
  double gradient_swapped_mean() const {
    return band_pixels > 0 ? gradient_swapped / band_pixels : 0;
  }
};

// Frames are 8-bit BGR of one size; `mask` (CV_8UC1, non-zero inside the blended face) covers
// `roi` of them; `band` in frame pixels (at least 1). Points whose samples fall outside the frame
// are left out.
SeamSample MeasureSeam(const cv::Mat& source, const cv::Mat& swapped, const cv::Mat& mask,
                       const cv::Rect& roi, double band);

}  // namespace fsc::eval

#endif  // FSC_CORE_EVAL_SEAM_H_
