// Colour matching of a swapped face to the frame it goes into (Faceswap's convert "color"
// adjustments). Every method works on float BGR images in 0..1 (CV_32FC3) of one size and takes
// its statistics only inside `region` (CV_8UC1, non-zero = face), so background pixels that share
// the patch never skew the match.
//
//   none        leaves the face as the model made it
//   avg-color   adds the difference of the per-channel means (target - face)
//   rct         Reinhard et al. 2001 colour transfer in L*a*b*: each channel is shifted and scaled
//               so that its mean and standard deviation equal the target's
//   hist-match  per BGR channel, maps the face's cumulative histogram onto the target's
//   seamless    Poisson blending (cv::seamlessClone, normal clone) of the face into the target:
//               the face keeps its gradients, the colours come from the target's border
//
// Results are not clipped (rct may leave 0..1 slightly); the composite saturates to 8 bits.
#ifndef FSC_CORE_CONVERT_COLOR_TRANSFER_H_
#define FSC_CORE_CONVERT_COLOR_TRANSFER_H_

#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fsc::convert {

enum class ColorMethod { kNone, kAvgColor, kRct, kHistMatch, kSeamless };

// The names above in that order; Parse gives INVALID_ARGUMENT listing them for anything else.
std::vector<std::string> ColorMethodNames();
absl::StatusOr<ColorMethod> ParseColorMethod(const std::string& name);
std::string ColorMethodName(ColorMethod method);

// Per-channel mean and standard deviation of `image` (any float multi-channel) inside `region`.
void MaskedMeanStd(const cv::Mat& image, const cv::Mat& region, cv::Scalar* mean,
                   cv::Scalar* stddev);

void MatchAverageColor(cv::Mat* face, const cv::Mat& target, const cv::Mat& region);
void ReinhardColorTransfer(cv::Mat* face, const cv::Mat& target, const cv::Mat& region);
void MatchHistograms(cv::Mat* face, const cv::Mat& target, const cv::Mat& region);
// `region` must not touch the image border (cv::seamlessClone's requirement); pixels of the
// border row/column are cleared from it here.
void SeamlessClone(cv::Mat* face, const cv::Mat& target, const cv::Mat& region);

// Dispatches to the method. INVALID_ARGUMENT for images of different sizes or types, or a region
// that is empty (nothing to take statistics from: the face is left alone and OK is returned).
absl::Status ApplyColorTransfer(ColorMethod method, cv::Mat* face, const cv::Mat& target,
                                const cv::Mat& region);

}  // namespace fsc::convert

#endif  // FSC_CORE_CONVERT_COLOR_TRANSFER_H_
