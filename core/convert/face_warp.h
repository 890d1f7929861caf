// Where a face of the alignments file sits for the model and back: the transform from frame
// pixels into the model's S x S input (the stored alignment, then the coverage crop the trainer
// takes, core/train/augment.h PrepareFace), the frame rectangle the model's square covers, and
// the warps both ways.
#ifndef FSC_CORE_CONVERT_FACE_WARP_H_
#define FSC_CORE_CONVERT_FACE_WARP_H_

#include <opencv2/core.hpp>

#include "absl/status/statusor.h"

namespace fsc::convert {

struct FaceGeometry {
  int model_size = 0;    // S
  cv::Mat to_model;      // 2x3 CV_64F: frame pixels -> model pixels
  cv::Rect roi;          // frame pixels the model square covers (clipped to the frame, + margin)
  cv::Mat roi_to_model;  // 2x3 CV_64F: ROI pixels -> model pixels
  double frame_per_model = 1;    // frame pixels per model pixel (> 1: the face is upscaled)
  double frame_per_aligned = 1;  // frame pixels per pixel of the aligned face
};

// `to_aligned`: the stored 2x3 transform from frame pixels into the aligned crop of side
// `aligned_size`; `coverage`: the centre fraction of that crop the model was trained on (with
// Faceswap's rounding: round(n (1 - coverage) / 2) pixels off each side, as PrepareFace).
// `margin`: extra frame pixels kept around the square. INVALID_ARGUMENT for a degenerate
// transform; an empty roi means the face lies outside the frame.
absl::StatusOr<FaceGeometry> ComputeFaceGeometry(const cv::Mat& to_aligned, int aligned_size,
                                                 double coverage, int model_size,
                                                 cv::Size frame_size, int margin = 2);

// The model input: the frame warped into S x S (8-bit BGR). Shrinking by more than 2x renders
// at an integer multiple of S and area-averages down, so small model inputs do not alias.
cv::Mat WarpToModel(const cv::Mat& frame, const FaceGeometry& geometry);

// An image in model space (S x S, any type) brought into the frame's ROI. `interpolation`:
// cv::INTER_LINEAR / INTER_CUBIC; `border`: cv::BORDER_CONSTANT (0 outside the square) or
// BORDER_REPLICATE.
cv::Mat WarpToRoi(const cv::Mat& model_image, const FaceGeometry& geometry, int interpolation,
                  int border);

// A model-space image (S x S, any type) brought into the ROI of a face the frame shows larger
// than the model's output (geometry.frame_per_model > 1; otherwise a bilinear WarpToRoi), with
// the edge replicated: a bicubic upscale to frame scale, then a bilinear warp of that into the
// ROI. As sharp as a direct bicubic warp, since the bilinear step works on an image already at
// frame scale, at a third of the cost (OpenCV's resize is separable and vectorised; its bicubic
// warp is neither): this warp was half of the composite stage's time.
cv::Mat UpscaleToRoi(const cv::Mat& model_image, const FaceGeometry& geometry);

// An image in the aligned frame of side `side` (e.g. a stored landmark mask) brought into the
// ROI (bilinear, 0 outside). `to_aligned` and `aligned_size` as for ComputeFaceGeometry.
cv::Mat WarpAlignedToRoi(const cv::Mat& aligned_image, const cv::Mat& to_aligned, int aligned_size,
                         const FaceGeometry& geometry);

}  // namespace fsc::convert

#endif  // FSC_CORE_CONVERT_FACE_WARP_H_
