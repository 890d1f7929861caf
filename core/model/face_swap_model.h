// Faceswap-style face-swap autoencoders: one shared encoder, one decoder per identity (A, B).
//
// Every model here has the same shape, described by an Architecture:
//   input N x 3 x S x S (RGB in 0..1)
//   encoder: DownscaleBlock (5 x 5, stride 2, LeakyReLU 0.1) per entry of `encoder_filters`
//            -> flatten (in NHWC order, as Keras does) -> dense `dense_dim`
//            -> dense latent_size² x latent_channels -> reshape (NHWC, as Keras)
//            -> UpscaleBlock(`encoder_upscale`)                  = the latent
//   decoder: UpscaleBlock per entry of `decoder_filters` -> OutputConv(3), sigmoid = the face;
//            with learn_mask, a second branch of the same upscales -> OutputConv(1) = the mask.
// The registry (model_registry.h) holds the named layouts (original, lightweight, dfl-h128).
//
// Parameter names are stable and form the checkpoint format: encoder.down0.conv.weight, ...,
// encoder.dense0.weight, encoder.dense1.weight, encoder.upscale.conv.weight,
// decoder_a.face_up0.conv.weight, ..., decoder_a.face_out.conv.weight,
// decoder_a.mask_up0.conv.weight, ..., decoder_a.mask_out.conv.weight (with learn_mask), and the
// same under decoder_b.
//
// Speed notes for the trainer: the model runs in any memory format; ToChannelsLast() converts
// the 4-D weights so that oneDNN (CPU) / cuDNN run NHWC kernels without reorders (feed it
// channels-last input too). Flatten and reshape are laid out NHWC so that they are free views on
// channels-last tensors. The modules are plain ops, so at::autocast (bf16 on CPU) applies.
#ifndef FSC_CORE_MODEL_FACE_SWAP_MODEL_H_
#define FSC_CORE_MODEL_FACE_SWAP_MODEL_H_

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/model/architecture.h"
#include "core/model/layers.h"

namespace fsc::model {

enum class Side { kA, kB };
// "a" / "b".
const char* SideName(Side side);

struct DecoderOutput {
  torch::Tensor face;  // N x 3 x S x S in 0..1
  torch::Tensor mask;  // N x 1 x S x S in 0..1; undefined unless learn_mask
};

class EncoderImpl : public torch::nn::Module {
 public:
  explicit EncoderImpl(const Architecture& arch);
  // N x 3 x S x S -> the latent, N x encoder_upscale x 2·latent_size x 2·latent_size.
  torch::Tensor forward(const torch::Tensor& x);
  void Reset(at::Generator& gen, bool icnr);

 private:
  int64_t latent_size_;
  int64_t latent_channels_;
  std::vector<DownscaleBlock> downs_;
  torch::nn::Linear dense0_{nullptr};
  torch::nn::Linear dense1_{nullptr};
  UpscaleBlock upscale_{nullptr};
};
TORCH_MODULE(Encoder);

class DecoderImpl : public torch::nn::Module {
 public:
  DecoderImpl(const Architecture& arch, bool learn_mask);
  DecoderOutput forward(const torch::Tensor& latent);
  void Reset(at::Generator& gen, bool icnr);

 private:
  std::vector<UpscaleBlock> face_ups_;
  OutputConv face_out_{nullptr};
  std::vector<UpscaleBlock> mask_ups_;  // empty without learn_mask
  OutputConv mask_out_{nullptr};
};
TORCH_MODULE(Decoder);

// Whether the constructor draws the seeded initial weights, or leaves LibTorch's defaults for a
// caller that is about to load every tensor from a checkpoint (half the construction time of a
// large model goes to the random draws).
enum class WeightInit { kSeeded, kToBeLoaded };

class FaceSwapModel : public torch::nn::Module {
 public:
  // Builds and initialises the model (He uniform convs, Glorot uniform dense layers, zero biases,
  // optional ICNR), deterministically from options.seed. Throws c10::Error on an inconsistent
  // architecture; CreateModel (model_registry.h) is the checked entry point.
  FaceSwapModel(Architecture arch, const ModelOptions& options,
                WeightInit init = WeightInit::kSeeded);

  const std::string& name() const { return arch_.name; }
  const Architecture& architecture() const { return arch_; }
  const ModelOptions& options() const { return options_; }
  int64_t input_size() const { return arch_.input_size; }
  bool learn_mask() const { return options_.learn_mask; }

  torch::Tensor Encode(const torch::Tensor& x);
  DecoderOutput Decode(const torch::Tensor& latent, Side side);
  // Decode(Encode(x), side): side kA on A faces is the reconstruction, on B faces the swap.
  DecoderOutput Forward(const torch::Tensor& x, Side side);

  // Parameter groups, e.g. for separate optimisers or freezing the encoder.
  std::vector<torch::Tensor> EncoderParameters() const;
  std::vector<torch::Tensor> DecoderParameters(Side side) const;
  int64_t ParameterCount() const;

 private:
  Architecture arch_;
  ModelOptions options_;
  Encoder encoder_{nullptr};
  Decoder decoder_a_{nullptr};
  Decoder decoder_b_{nullptr};
};

// Converts every 4-D parameter and buffer of `module` to channels-last in place. The tensors keep
// their identity (set_data), so names and optimiser references stay valid; optimiser state made
// earlier keeps its old layout. Call again after torch::load, which adopts the stored layout.
void ToChannelsLast(torch::nn::Module& module);

// Number of scalars in `module`'s parameters.
int64_t CountParameters(const torch::nn::Module& module);

}  // namespace fsc::model

#endif  // FSC_CORE_MODEL_FACE_SWAP_MODEL_H_
