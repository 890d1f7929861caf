// Faceswap's conv blocks (downscale, sub-pixel upscale, sigmoid output) as LibTorch modules.
#include "core/model/layers.h"

#include "core/model/init.h"

namespace fsc::model {
namespace {

// Keras "same" for an odd kernel at stride 1 is a symmetric k / 2. At stride 2 over an even size
// Keras pads one pixel more after than before; the symmetric k / 2 used here gives the same
// output size (the sampling grid sits half a pixel away), which matters only when importing
// Keras weights, and avoids a separate pad op.
torch::nn::Conv2dOptions ConvOptions(int64_t in, int64_t out, int64_t kernel, int64_t stride) {
  return torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(true);
}

void ZeroBias(torch::nn::Conv2d& conv) {
  torch::NoGradGuard no_grad;
  conv->bias.zero_();
}

}  // namespace

DownscaleBlockImpl::DownscaleBlockImpl(int64_t in_channels, int64_t filters, int64_t kernel) {
  conv_ = register_module("conv", torch::nn::Conv2d(ConvOptions(in_channels, filters, kernel, 2)));
}

torch::Tensor DownscaleBlockImpl::forward(const torch::Tensor& x) {
  return LeakyReluInPlace(conv_->forward(x), kLeakySlope);
}

void DownscaleBlockImpl::Reset(at::Generator& gen) {
  HeUniform(conv_->weight, gen);
  ZeroBias(conv_);
}

UpscaleBlockImpl::UpscaleBlockImpl(int64_t in_channels, int64_t filters) {
  conv_ = register_module("conv", torch::nn::Conv2d(ConvOptions(in_channels, filters * 4, 3, 1)));
}

torch::Tensor UpscaleBlockImpl::forward(const torch::Tensor& x) {
  // The activation commutes with the shuffle (a pure permutation); applying it first lets it run
  // in place on the conv's output.
  return torch::pixel_shuffle(LeakyReluInPlace(conv_->forward(x), kLeakySlope), 2);
}

void UpscaleBlockImpl::Reset(at::Generator& gen, bool icnr) {
  if (icnr) {
    IcnrHeUniform(conv_->weight, 2, gen);
  } else {
    HeUniform(conv_->weight, gen);
  }
  ZeroBias(conv_);
}

OutputConvImpl::OutputConvImpl(int64_t in_channels, int64_t channels, int64_t kernel) {
  conv_ = register_module("conv", torch::nn::Conv2d(ConvOptions(in_channels, channels, kernel, 1)));
}

torch::Tensor OutputConvImpl::forward(const torch::Tensor& x) {
  return conv_->forward(x).sigmoid_();
}

void OutputConvImpl::Reset(at::Generator& gen) {
  HeUniform(conv_->weight, gen);
  ZeroBias(conv_);
}

}  // namespace fsc::model
