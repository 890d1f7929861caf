// The tensor level of fsc's port of face-api's face recognition net (face_recognition_model, a
// dlib-style ResNet-34 variant), plus the face box it is fed, so tests can check each part.
// RecognitionNet (recognition_net.h) is built on it.
//
// Architecture (face-api src/faceRecognitionNet): every conv layer is conv + bias followed by a
// per-channel scale layer (x * weights + biases; folded into the conv here).
//   input N x 3 x 150 x 150, (RGB - mean) / 255
//   conv 7x7/2 valid 3->32 + relu -> 72; max pool 3/2 valid -> 35
//   residual x3 (32) -> down (64, 17) + x3 -> down (128, 8) + x2 -> down (256, 4) + x2
//   -> down (256, 2) -> spatial mean -> x @ fc (256 x 128, no bias)
//   residual: relu(conv2(relu(conv1 x)) + x), 3x3 "same"
//   down: conv1 is 3x3/2 *valid*; the shortcut is a 2x2/2 average pool, zero-padded in channels
//   when they double, and the conv branch gets a zero row and column (bottom/right) when the two
//   disagree in size (8 -> 3 vs 4, 4 -> 1 vs 2).
#ifndef FSC_CORE_FACE_RECOGNITION_NET_MODULE_H_
#define FSC_CORE_FACE_RECOGNITION_NET_MODULE_H_

#include <torch/torch.h>

#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/face/landmark_net.h"
#include "core/face/tfjs_weights.h"

namespace fsc::face {

inline constexpr int kRecognitionInputSize = 150;

class RecognitionNetwork {
 public:
  // Takes the tensors of face_recognition_model; NOT_FOUND / INVALID_ARGUMENT naming the tensor
  // when one is missing or has an unexpected shape.
  static absl::StatusOr<RecognitionNetwork> FromWeights(const TfjsWeights& weights);

  // `input`: N x 3 x 150 x 150 float32 on the CPU, preprocessed as face-api does (channels-last
  // memory avoids a copy). Returns N x 128 descriptors. Call under torch::NoGradGuard; LibTorch
  // errors surface as c10::Error.
  torch::Tensor Forward(const torch::Tensor& input) const;

 private:
  struct ConvLayer {
    torch::Tensor weight;  // O x I x k x k, scale layer folded in
    torch::Tensor bias;    // O, scale layer folded in
  };
  struct Residual {
    ConvLayer conv1;
    ConvLayer conv2;
    bool down = false;
  };

  static absl::StatusOr<ConvLayer> LoadConv(const TfjsWeights& weights, const std::string& prefix,
                                            int64_t kernel, int64_t in, int64_t out);
  static torch::Tensor ResidualForward(const torch::Tensor& x, const Residual& layer);

  ConvLayer stem_;
  std::vector<Residual> layers_;
  torch::Tensor fc_;  // 256 x 128
};

// The face box face-api's withFaceDescriptors crops for recognition: FaceLandmarks.align() with
// useDlibAlignment — a square of side floor(mean eye-to-mouth distance / 0.45) placed around the
// centre of the eye and mouth centres (x at 0.5 of the side, y at 0.43), corner floored and
// clamped at 0. face-api further limits the side by the landmark crop's size plus the corner, a
// quirk that only bites for faces at the image border; fsc does not (it only knows the image).
// Integer-valued, kept in double so that absurd landmarks cannot overflow an int.
cv::Rect2d AlignedFaceBox(const Landmarks& landmarks);

}  // namespace fsc::face

#endif  // FSC_CORE_FACE_RECOGNITION_NET_MODULE_H_
