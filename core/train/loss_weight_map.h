// The per-pixel loss weights of one training face: the face mask times Faceswap's eye and mouth
// multipliers (eyes x3, mouth x2 by default), for the losses in loss.h.
//
//   weight = mask x (1 + (eye - 1) x E + (mouth - 1) x M)
//
// E and M are the eye and mouth regions drawn from the 68 landmarks as Faceswap's trainer draws
// them (lib/align/detected_face.py, get_landmark_mask): the convex hulls of each eye (points
// 36-41, 42-47) and of the outer lips (48-59), grown by a dilation and softened by a Gaussian
// blur, both proportional to the image size, so the emphasis fades out instead of stepping.
// Landmarks come as plain points (fsc::face::Landmarks is the same type), in the pixel frame of
// the face the weights are for (after the coverage crop and any scaling or augmentation that the
// target received).
#ifndef FSC_CORE_TRAIN_LOSS_WEIGHT_MAP_H_
#define FSC_CORE_TRAIN_LOSS_WEIGHT_MAP_H_

#include <opencv2/core.hpp>
#include <vector>

#include "absl/status/statusor.h"

namespace fsc::train {

struct LossWeightOptions {
  double eye_multiplier = 3.0;    // 1 turns the eye emphasis off
  double mouth_multiplier = 2.0;  // 1 turns the mouth emphasis off
  // Region hulls grow by this fraction of the image side (Faceswap: 2.5 %)...
  double dilation_fraction = 0.025;
  // ...and are blurred with a Gaussian whose kernel spans this fraction of it (Faceswap: 1/16).
  double blur_fraction = 1.0 / 16;
};

// A CV_32FC1 map of `size`. `landmarks`: 68 finite points, or empty for no eye/mouth emphasis.
// `mask`: empty for none (1 everywhere), else `size` and CV_8UC1 (0..255, scaled to 0..1) or
// CV_32FC1 (0..1). INVALID_ARGUMENT for another landmark count, non-finite points, a mask of
// another size or type, or multipliers that are negative or not finite.
absl::StatusOr<cv::Mat> BuildLossWeightMap(const std::vector<cv::Point2f>& landmarks, cv::Size size,
                                           const cv::Mat& mask,
                                           const LossWeightOptions& options = {});

}  // namespace fsc::train

#endif  // FSC_CORE_TRAIN_LOSS_WEIGHT_MAP_H_
