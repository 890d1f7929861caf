// TF "same" padding for LibTorch conv and max-pool.
#include "core/face/tf_ops.h"

#include <algorithm>
#include <limits>

namespace fsc::face {

TfPadding TfSamePadding(int64_t input, int64_t kernel, int64_t stride) {
  const int64_t output = (input + stride - 1) / stride;
  const int64_t total = std::max<int64_t>((output - 1) * stride + kernel - input, 0);
  return {total / 2, total - total / 2};
}

torch::Tensor TfSameConv2d(const torch::Tensor& x, const torch::Tensor& weight,
                           const torch::Tensor& bias, int64_t stride, int64_t groups) {
  const TfPadding ph = TfSamePadding(x.size(2), weight.size(2), stride);
  const TfPadding pw = TfSamePadding(x.size(3), weight.size(3), stride);
  if (ph.before == ph.after && pw.before == pw.after) {
    // Symmetric: let the convolution pad, no copy.
    return torch::conv2d(x, weight, bias, {stride, stride}, {ph.before, pw.before}, {1, 1}, groups);
  }
  torch::Tensor padded = torch::constant_pad_nd(x, {pw.before, pw.after, ph.before, ph.after}, 0);
  return torch::conv2d(padded, weight, bias, torch::IntArrayRef{stride, stride},
                       torch::IntArrayRef{0, 0}, torch::IntArrayRef{1, 1}, groups);
}

torch::Tensor TfSameMaxPool2x2(const torch::Tensor& x, int64_t stride) {
  const TfPadding ph = TfSamePadding(x.size(2), 2, stride);
  const TfPadding pw = TfSamePadding(x.size(3), 2, stride);
  // A 2x2 window never needs padding before the data; padding after is -inf so it never wins.
  torch::Tensor padded = x;
  if (ph.after > 0 || pw.after > 0) {
    padded = torch::constant_pad_nd(x, {0, pw.after, 0, ph.after},
                                    -std::numeric_limits<double>::infinity());
  }
  return torch::max_pool2d(padded, {2, 2}, {stride, stride});
}

}  // namespace fsc::face
