// Turns an OpenCV frame into the square network input that face-api's detectors see:
// NetInput.toBatchTensor(size, /*isCenterInputs=*/false) pads the image with zeros at the bottom
// or right to a square, then tf.image.resizeBilinear(alignCorners=false, halfPixelCenters=false)
// scales it to size x size. That legacy TF resize samples source pixel dst*scale (no half-pixel
// offset), so cv::resize would shift every box by half a source pixel; it is re-implemented here.
#ifndef FSC_CORE_FACE_IMAGE_TENSOR_H_
#define FSC_CORE_FACE_IMAGE_TENSOR_H_

#include <torch/torch.h>

#include <array>
#include <opencv2/core.hpp>

#include "absl/status/statusor.h"

namespace fsc::face {

// Per-channel affine normalisation applied to RGB values in 0..255: out = (v - mean[c]) * scale.
struct InputNormalization {
  std::array<float, 3> mean_rgb = {0, 0, 0};
  float scale = 1.0f;
};

// Where the network input came from, to map boxes back to image pixels.
struct SquareInputGeometry {
  int image_width = 0;
  int image_height = 0;
  int input_size = 0;  // side of the network input
  // face-api's NetInput.getReshapedInputDimensions: the image's size inside the input square,
  // round(side * input_size / max(width, height)).
  int reshaped_width = 0;
  int reshaped_height = 0;
};

// 8-bit BGR (or gray / BGRA, converted) `image` -> float [1, 3, size, size] RGB tensor in
// channels-last memory (NHWC strides, which LibTorch's oneDNN convolutions consume directly),
// padded to a square at the bottom/right, resized like TF, normalised by `norm`.
// INVALID_ARGUMENT for an empty image, a non-8-bit image or size < 1.
absl::StatusOr<torch::Tensor> ToSquareInputTensor(const cv::Mat& image, int size,
                                                  const InputNormalization& norm,
                                                  SquareInputGeometry* geometry = nullptr);

// face-api's computeReshapedDimensions for an image of `width` x `height` and an input side.
SquareInputGeometry ComputeSquareGeometry(int width, int height, int input_size);

}  // namespace fsc::face

#endif  // FSC_CORE_FACE_IMAGE_TENSOR_H_
