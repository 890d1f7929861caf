// Pixel losses (mae, mse), the loss-spec parser and the weighted sum of terms.
#include "core/train/loss.h"

#include <c10/core/impl/LocalDispatchKeySet.h>

#include <cmath>
#include <exception>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace fsc::train {
namespace {

constexpr LossKind kAllKinds[] = {LossKind::kMae, LossKind::kMse, LossKind::kSsim,
                                  LossKind::kMsSsim};

// weight x error, averaged; `error` is float32, `weight` any float dtype or undefined.
torch::Tensor WeightedMean(const torch::Tensor& error, const torch::Tensor& weight) {
  if (!weight.defined()) return error.mean();
  return (error * weight.to(torch::kFloat)).mean();
}

// The difference in float32 with autocast off (see ssim.cc for why).
torch::Tensor Difference(const torch::Tensor& pred, const torch::Tensor& target) {
  return pred.to(torch::kFloat) - target.to(torch::kFloat);
}

absl::Status CheckShapes(const torch::Tensor& pred, const torch::Tensor& target,
                         const torch::Tensor& weight) {
  if (!pred.defined() || !target.defined() || pred.dim() != 4 || pred.sizes() != target.sizes()) {
    return absl::InvalidArgumentError(
        absl::StrCat("losses need prediction and target of the same N x C x H x W shape, got ",
                     pred.defined() ? c10::str(pred.sizes()) : "none", " and ",
                     target.defined() ? c10::str(target.sizes()) : "none"));
  }
  if (weight.defined()) {
    const bool batch_ok =
        weight.dim() == 4 && (weight.size(0) == pred.size(0) || weight.size(0) == 1);
    if (!batch_ok || weight.size(1) != 1 || weight.size(2) != pred.size(2) ||
        weight.size(3) != pred.size(3)) {
      return absl::InvalidArgumentError(
          absl::StrCat("the loss weight map must be N x 1 x H x W (", pred.size(0), " x 1 x ",
                       pred.size(2), " x ", pred.size(3), "), got ", c10::str(weight.sizes())));
    }
  }
  return absl::OkStatus();
}

torch::Tensor ComputeTerm(LossKind kind, const torch::Tensor& pred, const torch::Tensor& target,
                          const torch::Tensor& weight) {
  switch (kind) {
    case LossKind::kMae:
      return MaeLoss(pred, target, weight);
    case LossKind::kMse:
      return MseLoss(pred, target, weight);
    case LossKind::kSsim:
      return SsimLoss(pred, target, weight);
    case LossKind::kMsSsim:
      return MsSsimLoss(pred, target, weight);
  }
  return {};
}

}  // namespace

absl::StatusOr<LossKind> ParseLossKind(absl::string_view name) {
  for (LossKind kind : kAllKinds) {
    if (name == LossKindName(kind)) return kind;
  }
  std::vector<std::string> names;
  for (LossKind kind : kAllKinds) names.push_back(LossKindName(kind));
  return absl::InvalidArgumentError(
      absl::StrCat("unknown loss \"", name, "\"; known losses: ", absl::StrJoin(names, ", ")));
}

std::string LossKindName(LossKind kind) {
  switch (kind) {
    case LossKind::kMae:
      return "mae";
    case LossKind::kMse:
      return "mse";
    case LossKind::kSsim:
      return "ssim";
    case LossKind::kMsSsim:
      return "ms-ssim";
  }
  return "?";
}

torch::Tensor MaeLoss(const torch::Tensor& pred, const torch::Tensor& target,
                      const torch::Tensor& weight) {
  c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
  return WeightedMean(Difference(pred, target).abs(), weight);
}

torch::Tensor MseLoss(const torch::Tensor& pred, const torch::Tensor& target,
                      const torch::Tensor& weight) {
  c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
  return WeightedMean(Difference(pred, target).square(), weight);
}

absl::StatusOr<ImageLoss> ImageLoss::Parse(absl::string_view spec) {
  std::vector<LossTerm> terms;
  const absl::string_view trimmed = absl::StripAsciiWhitespace(spec);
  if (trimmed.empty())
    return absl::InvalidArgumentError("empty loss spec; e.g. \"ssim:1,mae:0.5\"");
  for (absl::string_view part : absl::StrSplit(trimmed, ',')) {
    part = absl::StripAsciiWhitespace(part);
    absl::string_view name = part;
    double weight = 1.0;
    if (const size_t colon = part.find(':'); colon != absl::string_view::npos) {
      name = absl::StripAsciiWhitespace(part.substr(0, colon));
      const absl::string_view value = absl::StripAsciiWhitespace(part.substr(colon + 1));
      if (!absl::SimpleAtod(value, &weight) || !std::isfinite(weight) || weight <= 0) {
        return absl::InvalidArgumentError(absl::StrCat("bad weight \"", value, "\" for loss \"",
                                                       name, "\" in \"", spec,
                                                       "\"; weights are numbers > 0"));
      }
    }
    absl::StatusOr<LossKind> kind = ParseLossKind(name);
    if (!kind.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(kind.status().message(), " (in loss spec \"", spec, "\")"));
    }
    for (const LossTerm& term : terms) {
      if (term.kind == *kind) {
        return absl::InvalidArgumentError(
            absl::StrCat("loss \"", name, "\" appears twice in \"", spec, "\""));
      }
    }
    terms.push_back({*kind, weight});
  }
  return ImageLoss(std::move(terms));
}

std::string ImageLoss::ToString() const {
  return absl::StrJoin(terms_, ",", [](std::string* out, const LossTerm& term) {
    absl::StrAppend(out, LossKindName(term.kind), ":", term.weight);
  });
}

absl::Status ImageLoss::CheckImageSize(int64_t height, int64_t width) const {
  for (const LossTerm& term : terms_) {
    if (term.kind == LossKind::kSsim && (height < kSsimWindow || width < kSsimWindow)) {
      return absl::InvalidArgumentError(absl::StrCat("the ssim loss needs images of at least ",
                                                     kSsimWindow, " x ", kSsimWindow, " px, got ",
                                                     height, " x ", width));
    }
    if (term.kind == LossKind::kMsSsim && MsSsimScales(height, width) < kMsSsimMinScales) {
      return absl::InvalidArgumentError(
          absl::StrCat("the ms-ssim loss needs images of at least ", 2 * kSsimWindow, " x ",
                       2 * kSsimWindow, " px (two scales of the ", kSsimWindow, " px window), got ",
                       height, " x ", width, "; use ssim instead"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<torch::Tensor> ImageLoss::Compute(const torch::Tensor& pred,
                                                 const torch::Tensor& target,
                                                 const torch::Tensor& weight) const {
  if (absl::Status shapes = CheckShapes(pred, target, weight); !shapes.ok()) return shapes;
  if (absl::Status size = CheckImageSize(pred.size(2), pred.size(3)); !size.ok()) return size;
  try {
    torch::Tensor total;
    for (const LossTerm& term : terms_) {
      torch::Tensor value = ComputeTerm(term.kind, pred, target, weight);
      if (term.weight != 1.0) value = value * term.weight;
      total = total.defined() ? total + value : value;
    }
    return total;
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("computing loss ", ToString(), ": ", e.what()));
  }
}

}  // namespace fsc::train
