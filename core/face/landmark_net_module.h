// The tensor level of fsc's port of face-api's 68-point landmark net (face_landmark_68_model):
// the network alone, without cropping or mapping back to image pixels. LandmarkNet (the
// image-level API in landmark_net.h) is built on it; tests use it to compare raw outputs.
//
// Architecture (face-api src/faceFeatureExtractor + src/faceLandmarkNet):
//   input N x 3 x 112 x 112, (RGB - mean) / 255
//   dense0: conv 3x3/2 3->32, then 3 separable convs    -> 56 x 56 x 32
//   dense1..3: separable 3x3/2 then 3 separable convs    -> 28x28x64, 14x14x128, 7x7x256
//     (a "dense block": out1 = relu(conv0 x); out2 = sep(out1); out3 = sep(relu(out1 + out2));
//      out4 = sep(relu(out1 + out2 + out3)); result relu(out1 + out2 + out3 + out4))
//   avg pool 7x7 -> fc 256 -> 136 = 68 interleaved (x, y) in 0..1 of the padded square input.
// All convs use TF "same" padding, which for a stride-2 3x3 conv over an even size pads 0 before
// and 1 after (not PyTorch's symmetric 1).
#ifndef FSC_CORE_FACE_LANDMARK_NET_MODULE_H_
#define FSC_CORE_FACE_LANDMARK_NET_MODULE_H_

#include <torch/torch.h>

#include <array>
#include <vector>

#include "absl/status/statusor.h"
#include "core/face/tfjs_weights.h"

namespace fsc::face {

inline constexpr int kLandmarkInputSize = 112;

class LandmarkNetwork {
 public:
  // Takes the tensors of face_landmark_68_model; INVALID_ARGUMENT / NOT_FOUND naming the tensor
  // when one is missing or has an unexpected shape.
  static absl::StatusOr<LandmarkNetwork> FromWeights(const TfjsWeights& weights);

  // `input`: N x 3 x 112 x 112 float32 on the CPU, preprocessed as face-api does (channels-last
  // memory avoids a copy). Returns N x 136 raw outputs. Call under torch::NoGradGuard; LibTorch
  // errors surface as c10::Error.
  torch::Tensor Forward(const torch::Tensor& input) const;

 private:
  struct SeparableConv {
    torch::Tensor depthwise;  // C x 1 x 3 x 3
    torch::Tensor pointwise;  // O x C x 1 x 1
    torch::Tensor bias;       // O
  };
  struct DenseBlock {
    bool first = false;     // dense0 starts with a regular conv instead of a separable one
    torch::Tensor conv0_w;  // first block only: 32 x 3 x 3 x 3
    torch::Tensor conv0_b;  // first block only
    SeparableConv conv0;    // other blocks
    std::array<SeparableConv, 3> convs;
  };

  static torch::Tensor Separable(const torch::Tensor& x, const SeparableConv& conv, int stride);
  static torch::Tensor Block(const torch::Tensor& x, const DenseBlock& block);

  std::vector<DenseBlock> blocks_;
  torch::Tensor fc_w_;  // 256 x 136 (x @ W)
  torch::Tensor fc_b_;  // 136
};

}  // namespace fsc::face

#endif  // FSC_CORE_FACE_LANDMARK_NET_MODULE_H_
