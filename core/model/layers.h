// The building blocks of Faceswap's autoencoders (lib/model/nn_blocks.py), as LibTorch modules:
//  - DownscaleBlock ("Conv2DBlock"): conv k x k, stride 2, "same" padding, LeakyReLU(0.1).
//  - UpscaleBlock: conv 3 x 3 to 4 x filters, LeakyReLU(0.1), pixel shuffle x2.
//  - OutputConv ("Conv2DOutput"): conv k x k, "same" padding, sigmoid.
// Every block initialises itself from an explicit generator (see init.h) in Reset(), so a model's
// weights depend only on its seed. The blocks keep whatever memory format their input has
// (channels-last in, channels-last out) and use in-place activations to save memory traffic.
#ifndef FSC_CORE_MODEL_LAYERS_H_
#define FSC_CORE_MODEL_LAYERS_H_

#include <torch/torch.h>

#include <cstdint>

namespace fsc::model {

inline constexpr double kLeakySlope = 0.1;

// LeakyReLU applied in place on a fresh activation (its backward needs only the output).
inline torch::Tensor LeakyReluInPlace(torch::Tensor x, double slope) {
  return torch::leaky_relu_(x, slope);
}

class DownscaleBlockImpl : public torch::nn::Module {
 public:
  DownscaleBlockImpl(int64_t in_channels, int64_t filters, int64_t kernel = 5);
  torch::Tensor forward(const torch::Tensor& x);
  // He-uniform kernel, zero bias.
  void Reset(at::Generator& gen);

 private:
  torch::nn::Conv2d conv_{nullptr};
};
TORCH_MODULE(DownscaleBlock);

class UpscaleBlockImpl : public torch::nn::Module {
 public:
  UpscaleBlockImpl(int64_t in_channels, int64_t filters);
  torch::Tensor forward(const torch::Tensor& x);
  // He-uniform (or ICNR over He-uniform) kernel, zero bias.
  void Reset(at::Generator& gen, bool icnr);

 private:
  torch::nn::Conv2d conv_{nullptr};
};
TORCH_MODULE(UpscaleBlock);

class OutputConvImpl : public torch::nn::Module {
 public:
  OutputConvImpl(int64_t in_channels, int64_t channels, int64_t kernel = 5);
  // Sigmoid of the conv: values in 0..1 in the input's dtype (bf16 under autocast; the losses
  // convert to float32 themselves).
  torch::Tensor forward(const torch::Tensor& x);
  void Reset(at::Generator& gen);

 private:
  torch::nn::Conv2d conv_{nullptr};
};
TORCH_MODULE(OutputConv);

}  // namespace fsc::model

#endif  // FSC_CORE_MODEL_LAYERS_H_
