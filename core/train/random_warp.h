// Faceswap's random warp (ImageAugmentation._random_warp): the dense remap that turns a training
// target into the network's distorted input, so the autoencoder learns to restore a face rather
// than copy pixels.
#ifndef FSC_CORE_TRAIN_RANDOM_WARP_H_
#define FSC_CORE_TRAIN_RANDOM_WARP_H_

#include <array>
#include <opencv2/core.hpp>

namespace fsc::train {

// The warp's sampling maps for a `size` x `size` image, as Faceswap builds them: 5x5 control
// points at linspace(0, size, 5) in x and y, each moved by `noise_x` / `noise_y` (pixels, row
// major), resized bilinearly (cv::resize) to pad = int(1.25 size) squared, of which the
// size x size block starting at pad / 10 is kept. map(x, y) is where output pixel (x, y) samples
// the image; with zero noise it is within half a pixel of the identity.
// `map_x`, `map_y` become CV_32FC1 size x size.
void RandomWarpMaps(int size, const std::array<float, 25>& noise_x,
                    const std::array<float, 25>& noise_y, cv::Mat* map_x, cv::Mat* map_y);

// Rewrites maps given in the frame of warpAffine(image, affine) into maps that sample `image`
// itself: (x, y) -> affine⁻¹ (x, y). `affine` is 2x3 CV_64F and invertible. Remapping `image`
// with the result equals remapping the affine-warped image with the original maps, but with one
// resampling instead of two.
void ComposeMapsWithAffine(const cv::Mat& affine, cv::Mat* map_x, cv::Mat* map_y);

}  // namespace fsc::train

#endif  // FSC_CORE_TRAIN_RANDOM_WARP_H_
