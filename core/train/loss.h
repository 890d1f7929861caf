// The reconstruction losses of fsc's trainer and their `--loss` spec.
//
// All losses take N x C x H x W images in 0..1 (prediction, target) and an optional per-pixel
// weight map, N x 1 x H x W (or 1 x 1 x H x W for every image), undefined for none. The weight map
// carries both the face mask (0 outside the face: the masked loss) and the eye / mouth
// multipliers (see loss_weight_map.h). A loss with weights is the mean over every pixel and
// channel of weight x error, so weights > 1 raise the loss where they are, 0 removes a pixel, and
// no weights equals weights of 1. (Faceswap multiplies both images by the mask instead, which
// gives the same masked mae/mse.)
//
//   mae      |pred - target|                          (L1)
//   mse      (pred - target)²                         (L2)
//   ssim     1 - SSIM, Gaussian 11 x 11, sigma 1.5     (ssim.h; images >= 11 px)
//   ms-ssim  1 - MS-SSIM, up to 5 scales              (ssim.h; images >= 22 px)
//
// A spec combines terms with weights: "ssim:1,mae:0.5" is 1·ssim + 0.5·mae; a bare name weighs 1.
// Losses run in float32 whatever the inputs' dtype (bf16 model outputs under autocast are
// converted) and return differentiable scalars.
#ifndef FSC_CORE_TRAIN_LOSS_H_
#define FSC_CORE_TRAIN_LOSS_H_

#include <torch/torch.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/train/ssim.h"

namespace fsc::train {

// Faceswap 3's default pair: SSIM plus MSE.
inline constexpr char kDefaultLossSpec[] = "ssim:1,mse:1";

enum class LossKind { kMae, kMse, kSsim, kMsSsim };

// "mae", "mse", "ssim", "ms-ssim"; INVALID_ARGUMENT listing them otherwise.
absl::StatusOr<LossKind> ParseLossKind(absl::string_view name);
std::string LossKindName(LossKind kind);

torch::Tensor MaeLoss(const torch::Tensor& pred, const torch::Tensor& target,
                      const torch::Tensor& weight = {});
torch::Tensor MseLoss(const torch::Tensor& pred, const torch::Tensor& target,
                      const torch::Tensor& weight = {});

struct LossTerm {
  LossKind kind;
  double weight;
};

// A weighted sum of loss terms, parsed from a spec.
class ImageLoss {
 public:
  // "name[:weight],..." with whitespace allowed around parts. INVALID_ARGUMENT for an empty spec,
  // an unknown name, a weight that is not a finite number > 0, or a name given twice.
  static absl::StatusOr<ImageLoss> Parse(absl::string_view spec);

  const std::vector<LossTerm>& terms() const { return terms_; }
  // The canonical spec, e.g. "ssim:1,mae:0.5".
  std::string ToString() const;

  // INVALID_ARGUMENT when a term cannot work on H x W images (ssim below 11 px, ms-ssim below
  // 22 px); check once when the model's size is known.
  absl::Status CheckImageSize(int64_t height, int64_t width) const;

  // The weighted sum of the terms (a float32 scalar with autograd history). INVALID_ARGUMENT for
  // mismatched shapes or sizes a term refuses; INTERNAL if LibTorch fails.
  absl::StatusOr<torch::Tensor> Compute(const torch::Tensor& pred, const torch::Tensor& target,
                                        const torch::Tensor& weight = {}) const;

 private:
  explicit ImageLoss(std::vector<LossTerm> terms) : terms_(std::move(terms)) {}
  std::vector<LossTerm> terms_;
};

}  // namespace fsc::train

#endif  // FSC_CORE_TRAIN_LOSS_H_
