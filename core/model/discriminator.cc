// faceswap-GAN style patch discriminator.
#include "core/model/discriminator.h"

#include <exception>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/model/init.h"
#include "core/model/layers.h"

namespace fsc::model {
namespace {

constexpr double kSlope = 0.2;

absl::Status CheckOptions(const DiscriminatorOptions& o) {
  if (o.input_size < 16 || o.input_size % 8 != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "discriminator input size must be a multiple of 8 of at least 16, got ", o.input_size));
  }
  if (o.in_channels <= 0 || o.base_filters <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("discriminator channel counts must be positive, got in_channels ",
                     o.in_channels, " and base_filters ", o.base_filters));
  }
  return absl::OkStatus();
}

torch::nn::Conv2d DownConv(int64_t in, int64_t out) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 4).stride(2).padding(1).bias(false));
}

}  // namespace

PatchDiscriminatorImpl::PatchDiscriminatorImpl(const DiscriminatorOptions& options)
    : options_(options) {
  const absl::Status valid = CheckOptions(options);
  TORCH_CHECK(valid.ok(), valid.ToString());
  const int64_t f = options.base_filters;
  int64_t side = options.input_size / 2;
  convs_.push_back(register_module("conv0", DownConv(options.in_channels, f)));
  int64_t channels = f;
  // Two convs that widen to 4F, then as many 4F convs as it takes to reach an 8 x 8 grid.
  for (int64_t i = 1; i <= 2 || side > 8; ++i) {
    const int64_t out = i == 1 ? 2 * f : 4 * f;
    convs_.push_back(register_module(absl::StrCat("conv", i), DownConv(channels, out)));
    norms_.push_back(register_module(
        absl::StrCat("norm", i),
        torch::nn::InstanceNorm2d(torch::nn::InstanceNorm2dOptions(out).affine(true))));
    channels = out;
    side /= 2;
  }
  grid_size_ = side;
  out_ = register_module(
      "out", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, 1, 3).padding(1).bias(false)));

  at::Generator gen = MakeInitGenerator(options.seed);
  for (torch::nn::Conv2d& conv : convs_) Normal(conv->weight, 0.0, 0.02, gen);
  for (torch::nn::InstanceNorm2d& norm : norms_) {
    Normal(norm->weight, 1.0, 0.02, gen);
    torch::NoGradGuard no_grad;
    norm->bias.zero_();
  }
  Normal(out_->weight, 0.0, 0.02, gen);
}

torch::Tensor PatchDiscriminatorImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = LeakyReluInPlace(convs_[0]->forward(x), kSlope);
  for (size_t i = 1; i < convs_.size(); ++i) {
    y = LeakyReluInPlace(norms_[i - 1]->forward(convs_[i]->forward(y)), kSlope);
  }
  return out_->forward(y);
}

absl::StatusOr<PatchDiscriminator> CreatePatchDiscriminator(const DiscriminatorOptions& options) {
  if (absl::Status valid = CheckOptions(options); !valid.ok()) return valid;
  try {
    return PatchDiscriminator(options);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("building the patch discriminator: ", e.what()));
  }
}

}  // namespace fsc::model
