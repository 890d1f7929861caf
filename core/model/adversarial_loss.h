// The adversarial losses on a patch discriminator's logits (discriminator.h).
//
//  - lsgan (default, as faceswap-GAN): least squares on the raw logits. The discriminator pulls
//    real patches to 1 and fake ones to 0; the generator pulls its fakes to 1.
//  - bce: the original GAN's binary cross-entropy, on logits (sigmoid folded in, numerically
//    stable).
// Every loss is the mean over all patches and images, computed in float32 whatever the logits'
// dtype (bf16 under autocast). The discriminator's loss is half the sum of its real and fake
// terms, so both losses have the same scale. Train the discriminator on detached fakes.
#ifndef FSC_CORE_MODEL_ADVERSARIAL_LOSS_H_
#define FSC_CORE_MODEL_ADVERSARIAL_LOSS_H_

#include <torch/torch.h>

#include <string>

#include "absl/status/statusor.h"

namespace fsc::model {

enum class AdversarialLoss { kLsgan, kBce };

// "lsgan" / "bce"; INVALID_ARGUMENT otherwise.
absl::StatusOr<AdversarialLoss> ParseAdversarialLoss(const std::string& name);
std::string AdversarialLossName(AdversarialLoss type);

// (L(real, 1) + L(fake, 0)) / 2 for the discriminator's step.
torch::Tensor DiscriminatorLoss(const torch::Tensor& real_logits, const torch::Tensor& fake_logits,
                                AdversarialLoss type);
// L(fake, 1) for the generator's (autoencoder's) step.
torch::Tensor GeneratorAdversarialLoss(const torch::Tensor& fake_logits, AdversarialLoss type);

}  // namespace fsc::model

#endif  // FSC_CORE_MODEL_ADVERSARIAL_LOSS_H_
