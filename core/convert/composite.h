// Putting a swapped face back into its frame: the blend mask (landmark or learned mask, eroded
// and blurred in frame space by amounts given in aligned-face pixels so they scale with the
// face), optional sharpening of upscaled faces, colour matching (color_transfer.h) and the alpha
// composite. Pixels where the final mask is 0 (everything outside the face's mask and the model's
// coverage square) are never written: they stay bit-identical to the source frame.
#ifndef FSC_CORE_CONVERT_COMPOSITE_H_
#define FSC_CORE_CONVERT_COMPOSITE_H_

#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/convert/color_transfer.h"
#include "core/convert/face_warp.h"
#include "core/face/mask.h"

namespace fsc::convert {

enum class SharpenMethod { kNone, kUnsharp };
// "none", "unsharp"; INVALID_ARGUMENT listing them otherwise.
absl::StatusOr<SharpenMethod> ParseSharpenMethod(const std::string& name);

struct BlendOptions {
  ColorMethod color = ColorMethod::kAvgColor;
  // Mask erosion in pixels of the aligned face (fsc extract --size, 256 by default); negative
  // values dilate. Scaled to the face's size in the frame.
  double erode = 0;
  // Feather width in aligned-face pixels: the mask is shrunk by this much and blurred back out
  // to its edge, so the blend fades in inside the mask and never spills out of it.
  double blur = 8;
  SharpenMethod sharpen = SharpenMethod::kNone;
  double sharpen_amount = 0.5;  // unsharp: face + amount · (face − blurred face)
};

// One model output ready to go back: where it came from and what the model made.
struct SwappedFace {
  cv::Mat to_aligned;    // 2x3: frame pixels -> aligned face (from the alignments file)
  int aligned_size = 0;  // the aligned face's side
  cv::Mat stored_mask;   // CV_8UC1 landmark mask in the aligned frame; empty: draw one
  face::MaskType mask_type = face::MaskType::kExtended;  // for drawing one from `landmarks`
  std::vector<cv::Point2f> landmarks;                    // 68 points, frame pixels
  cv::Mat face;                                          // S x S CV_32FC3 BGR in 0..1
  cv::Mat learned_mask;  // S x S CV_32FC1 in 0..1 from the model; empty: use the landmark mask
};

// The alpha of a binary `region` (CV_8UC1, non-zero inside): eroded by `erode_px` (dilated when
// negative, then cut back to `limit` where given), then for `blur_px` > 0 shrunk by blur_px and
// Gaussian-blurred with a kernel of that radius, so alpha is 0 wherever the (eroded) region is.
// CV_32FC1 in 0..1.
cv::Mat BuildAlpha(const cv::Mat& region, int erode_px, int blur_px, const cv::Mat& limit = {});

// image += amount · (image − GaussianBlur(image, sigma)), in place (float images).
void UnsharpMask(cv::Mat* image, double sigma, double amount);

// frame = frame + alpha · (face − frame), rounded and saturated, for every pixel with alpha > 0;
// pixels with alpha == 0 are not touched. `frame`: CV_8UC3; face CV_32FC3 (0..1); alpha
// CV_32FC1; all one size.
void AlphaComposite(cv::Mat* frame, const cv::Mat& face, const cv::Mat& alpha);

// Blends `swapped` into `frame` (8-bit BGR) at `geometry`. A face outside the frame is a no-op.
absl::Status BlendFace(const FaceGeometry& geometry, const SwappedFace& swapped,
                       const BlendOptions& options, cv::Mat* frame);

}  // namespace fsc::convert

#endif  // FSC_CORE_CONVERT_COMPOSITE_H_
