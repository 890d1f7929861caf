// LSGAN and BCE adversarial losses on patch logits.
#include "core/model/adversarial_loss.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace fsc::model {
namespace {

// Mean of L(logits, target) over every patch, in float32.
torch::Tensor Against(const torch::Tensor& logits, double target, AdversarialLoss type) {
  const torch::Tensor x = logits.to(torch::kFloat);
  if (type == AdversarialLoss::kLsgan) return (x - target).square().mean();
  return torch::binary_cross_entropy_with_logits(x, torch::full_like(x, target));
}

}  // namespace

absl::StatusOr<AdversarialLoss> ParseAdversarialLoss(const std::string& name) {
  if (name == "lsgan") return AdversarialLoss::kLsgan;
  if (name == "bce") return AdversarialLoss::kBce;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown adversarial loss \"", name, "\"; use lsgan or bce"));
}

std::string AdversarialLossName(AdversarialLoss type) {
  return type == AdversarialLoss::kLsgan ? "lsgan" : "bce";
}

torch::Tensor DiscriminatorLoss(const torch::Tensor& real_logits, const torch::Tensor& fake_logits,
                                AdversarialLoss type) {
  return 0.5 * (Against(real_logits, 1.0, type) + Against(fake_logits, 0.0, type));
}

torch::Tensor GeneratorAdversarialLoss(const torch::Tensor& fake_logits, AdversarialLoss type) {
  return Against(fake_logits, 1.0, type);
}

}  // namespace fsc::model
