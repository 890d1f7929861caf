// SSIM and MS-SSIM (Wang et al. 2003/2004) as training losses on N x C x H x W images in 0..1.
//
// SSIM uses a Gaussian window of 11 x 11 taps, sigma 1.5, over "valid" positions only (like
// TensorFlow's tf.image.ssim, which Faceswap's loss follows), with C1 = 0.01², C2 = 0.03²: each
// map is (H - 10) x (W - 10), one value per window, and needs H, W >= 11.
//
// MS-SSIM compares the images at successively halved scales (2 x 2 average pooling). Faceswap's
// five scales and their weights (0.0448, 0.2856, 0.3001, 0.2363, 0.1333) need 176 px faces for an
// 11 px window at the coarsest scale, more than fsc's 64 and 128 px models have; fsc therefore
// uses as many of the five scales as fit (64 px: 3, 128 px: 4, 176 px and up: 5), with the
// weights of those scales rescaled to sum to 1, and refuses sizes where fewer than two fit
// (below 22 px). Contrast-structure terms are clamped at 1e-6 before the power (as TF clamps at
// 0), which keeps gradients finite.
//
// Optional per-pixel weights (N x 1 x H x W, or 1 x 1 x H x W for all images) follow the same
// rule as the pixel losses in loss.h: the loss is the mean over pixels of weight x error.
//  - SSIM: the error of a pixel is 1 - SSIM of the window centred on it, so the weight map is
//    cropped by the window's half-width (5 px) to line up with the map.
//  - MS-SSIM has no per-pixel error; each scale's statistic is a weight-averaged mean (weights
//    average-pooled along with the images), and each image's 1 - MS-SSIM is multiplied by the
//    mean of its weight map. A uniform weight k gives k x (1 - MS-SSIM).
// Everything is computed in float32 with autocast disabled (variances in bf16 cancel badly),
// whatever the inputs' dtype; the results are differentiable scalars.
#ifndef FSC_CORE_TRAIN_SSIM_H_
#define FSC_CORE_TRAIN_SSIM_H_

#include <torch/torch.h>

#include <cstdint>

namespace fsc::train {

inline constexpr int64_t kSsimWindow = 11;
inline constexpr double kSsimSigma = 1.5;
inline constexpr int kMsSsimMaxScales = 5;
inline constexpr int kMsSsimMinScales = 2;

struct SsimMaps {
  torch::Tensor ssim;  // N x C x (H - 10) x (W - 10): luminance x contrast-structure
  torch::Tensor cs;    // contrast-structure term alone, same shape
};

// The per-window maps of two float images of the same shape (H, W >= 11).
SsimMaps ComputeSsimMaps(const torch::Tensor& x, const torch::Tensor& y);

// Mean SSIM (1 for identical images), no weights; for previews and tests.
torch::Tensor Ssim(const torch::Tensor& x, const torch::Tensor& y);

// 1 - SSIM as a loss; `weight` may be undefined.
torch::Tensor SsimLoss(const torch::Tensor& pred, const torch::Tensor& target,
                       const torch::Tensor& weight = {});

// The number of MS-SSIM scales for an H x W image (0 to 5); below kMsSsimMinScales the loss
// refuses the size.
int MsSsimScales(int64_t height, int64_t width);

// 1 - MS-SSIM as a loss. Throws c10::Error when fewer than kMsSsimMinScales fit (check with
// MsSsimScales or ImageLoss::CheckImageSize first).
torch::Tensor MsSsimLoss(const torch::Tensor& pred, const torch::Tensor& target,
                         const torch::Tensor& weight = {});

}  // namespace fsc::train

#endif  // FSC_CORE_TRAIN_SSIM_H_
