// The patch discriminator of fsc's optional adversarial loss, one per side, in the style of
// faceswap-GAN (shaoanlu/faceswap-GAN): a small conv net that maps a face to a grid of real/fake
// logits, one per overlapping patch, rather than a single score.
//
// Layout for an S px input (S divisible by 8, at least 16):
//   conv 4 x 4 stride 2 (pad 1) to F, LeakyReLU(0.2)                      -> S/2
//   conv 4 x 4 stride 2 to 2F, InstanceNorm (affine), LeakyReLU(0.2)       -> S/4
//   conv 4 x 4 stride 2 to 4F, InstanceNorm, LeakyReLU(0.2)                -> S/8
//   while the side is above 8: conv 4 x 4 stride 2 to 4F, InstanceNorm, LeakyReLU(0.2)
//   conv 3 x 3 (pad 1) to 1 channel                                       = N x 1 x P x P logits
// P is 8 for 64 and 128 px faces. Convs have no bias (the norms that follow make one redundant;
// faceswap-GAN does the same) and start from N(0, 0.02), norm scales from N(1, 0.02), as in
// faceswap-GAN. The last conv is 3 x 3 where faceswap-GAN's is 4 x 4 "same": the odd kernel
// keeps the map centred without asymmetric padding. faceswap-GAN's optional self-attention
// layers are left out.
#ifndef FSC_CORE_MODEL_DISCRIMINATOR_H_
#define FSC_CORE_MODEL_DISCRIMINATOR_H_

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"

namespace fsc::model {

struct DiscriminatorOptions {
  int64_t input_size = 64;    // S
  int64_t in_channels = 3;    // 3 for RGB; more if the caller conditions on extra channels
  int64_t base_filters = 64;  // F
  uint64_t seed = 0;
};

class PatchDiscriminatorImpl : public torch::nn::Module {
 public:
  // Throws c10::Error on invalid options; CreatePatchDiscriminator is the checked entry point.
  explicit PatchDiscriminatorImpl(const DiscriminatorOptions& options);
  // N x C x S x S in 0..1 -> N x 1 x P x P logits (not passed through a sigmoid).
  torch::Tensor forward(const torch::Tensor& x);
  int64_t patch_grid_size() const { return grid_size_; }
  const DiscriminatorOptions& options() const { return options_; }

 private:
  DiscriminatorOptions options_;
  int64_t grid_size_ = 0;
  std::vector<torch::nn::Conv2d> convs_;
  std::vector<torch::nn::InstanceNorm2d> norms_;  // norms_[i] follows convs_[i + 1]
  torch::nn::Conv2d out_{nullptr};
};
TORCH_MODULE(PatchDiscriminator);

// INVALID_ARGUMENT naming the problem when the size is not a multiple of 8 of at least 16 or a
// count is not positive.
absl::StatusOr<PatchDiscriminator> CreatePatchDiscriminator(const DiscriminatorOptions& options);

}  // namespace fsc::model

#endif  // FSC_CORE_MODEL_DISCRIMINATOR_H_
