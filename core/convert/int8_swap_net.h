// Int8 inference of a trained FaceSwapModel on the CPU: the encoder and one decoder with their
// convolutions in 8-bit integers (oneDNN's u8 x s8 kernels, which AVX-512 VNNI / AVX-VNNI run at
// twice the multiply rate of bf16; bench/convert_bench measures what that gives end to end).
//
// Post-training static quantisation:
//   - weights: int8, symmetric, one scale per output channel (max |w| / 127);
//   - activations: uint8, one scale and zero point per tensor, from the ranges the float model
//     produces on calibration faces (widened by a safety margin so that faces brighter or more
//     extreme than the calibration set saturate less), requantised after every LeakyReLU so that
//     each layer's input uses all 256 levels;
//   - the input faces are 8-bit already, so their quantisation (scale 1/255) is exact;
//   - the output convs are int8 too, their logits quantised over the range where the sigmoid
//     still moves (|logit| <= 8), so rounding moves a pixel by at most 1/128 of its 0..1 range
//     where the sigmoid is steepest and far less towards black and white; the sigmoid runs in
//     float32;
//   - the dense bottleneck is int8 too (oneDNN's u8 x s8 inner products, 6x faster than float32
//     there), with its hidden layer's range calibrated like the convs'.
// On real faces the result is within about one 8-bit level of float32 on average (measured in
// int8_swap_net_test and bench/convert_bench): less than the video encoder changes.
//
//   auto net = Int8SwapNet::Build(model, model::Side::kB, calibration_faces);  // N x 3 x S x S
//   model::DecoderOutput out = (*net)->Forward(faces);                        // float32 CPU
#ifndef FSC_CORE_CONVERT_INT8_SWAP_NET_H_
#define FSC_CORE_CONVERT_INT8_SWAP_NET_H_

#include <torch/torch.h>

#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/model/face_swap_model.h"

namespace fsc::convert {

// True when this LibTorch can run int8 convolutions on the CPU (its oneDNN quantised engine).
bool Int8Available();
// True when the CPU has 8-bit dot-product instructions (AVX-512 VNNI or AVX-VNNI), where int8
// inference is the fastest choice.
bool CpuHasInt8DotProduct();

class Int8SwapNet {
 public:
  // Quantises `model`'s encoder and `decoder` (a CPU model in eval mode) with activation ranges
  // measured on `calibration` (N x 3 x S x S float32 RGB in 0..1 on the CPU, N >= 1: faces like
  // the ones to be swapped). FAILED_PRECONDITION when Int8Available() is false; INVALID_ARGUMENT
  // for a calibration batch of the wrong shape; INTERNAL when LibTorch fails.
  static absl::StatusOr<std::unique_ptr<Int8SwapNet>> Build(model::FaceSwapModel& model,
                                                            model::Side decoder,
                                                            const torch::Tensor& calibration);
  ~Int8SwapNet();

  // `x`: N x 3 x S x S float32 in 0..1 on the CPU. The decoder's face (and mask) as float32.
  // Throws c10::Error on LibTorch failures (callers convert at their edge).
  model::DecoderOutput Forward(const torch::Tensor& x) const;

  struct Layer;        // one quantised conv block (int8_swap_net.cc)
  struct OutputLayer;  // a quantised output conv, before its sigmoid
  struct DenseLayer;   // a quantised dense layer

 private:
  Int8SwapNet() = default;

  std::vector<Layer> downs_;
  std::unique_ptr<DenseLayer> dense0_, dense1_;  // dense1_ gives the latent
  int64_t latent_size_ = 0, latent_channels_ = 0;
  std::vector<Layer> encoder_up_;
  std::vector<Layer> face_ups_, mask_ups_;
  std::unique_ptr<OutputLayer> face_out_, mask_out_;
};

}  // namespace fsc::convert

#endif  // FSC_CORE_CONVERT_INT8_SWAP_NET_H_
