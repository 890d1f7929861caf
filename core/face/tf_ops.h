// TensorFlow padding semantics on LibTorch ops, for networks converted from TF.js. TF's "same"
// padding puts the odd extra row/column after the data (pad 0 before, 1 after for a stride-2 3x3
// conv on an even input), which torch's symmetric `padding` cannot express.
#ifndef FSC_CORE_FACE_TF_OPS_H_
#define FSC_CORE_FACE_TF_OPS_H_

#include <torch/torch.h>

namespace fsc::face {

// conv2d with TF "same" padding (output = ceil(input / stride)). `weight` is OIHW; `bias` may be
// undefined; `groups` as in torch (channels for a depthwise conv).
torch::Tensor TfSameConv2d(const torch::Tensor& x, const torch::Tensor& weight,
                           const torch::Tensor& bias, int64_t stride, int64_t groups = 1);

// max_pool2d with a 2x2 window and TF "same" padding (padding never wins the max).
torch::Tensor TfSameMaxPool2x2(const torch::Tensor& x, int64_t stride);

// The leading and trailing padding TF "same" adds along one axis.
struct TfPadding {
  int64_t before = 0;
  int64_t after = 0;
};
TfPadding TfSamePadding(int64_t input, int64_t kernel, int64_t stride);

}  // namespace fsc::face

#endif  // FSC_CORE_FACE_TF_OPS_H_
