// The shared encoder, the per-identity decoders and the FaceSwapModel that holds them.
#include "core/model/face_swap_model.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/model/init.h"

namespace fsc::model {
namespace {

void InitLinear(torch::nn::Linear& linear, at::Generator& gen) {
  GlorotUniform(linear->weight, gen);
  torch::NoGradGuard no_grad;
  linear->bias.zero_();
}

void Append(std::vector<torch::Tensor>& out, const torch::nn::Module& module) {
  for (const torch::Tensor& p : module.parameters()) out.push_back(p);
}

}  // namespace

const char* SideName(Side side) { return side == Side::kA ? "a" : "b"; }

EncoderImpl::EncoderImpl(const Architecture& arch)
    : latent_size_(arch.latent_size), latent_channels_(arch.latent_channels) {
  TORCH_CHECK(!arch.encoder_filters.empty(), "encoder needs at least one conv");
  const int64_t down = arch.input_size >> arch.encoder_filters.size();
  TORCH_CHECK(down << arch.encoder_filters.size() == arch.input_size,
              "input size must halve exactly at every encoder conv");
  int64_t channels = 3;
  for (size_t i = 0; i < arch.encoder_filters.size(); ++i) {
    downs_.push_back(register_module(absl::StrCat("down", i),
                                     DownscaleBlock(channels, arch.encoder_filters[i])));
    channels = arch.encoder_filters[i];
  }
  dense0_ = register_module("dense0", torch::nn::Linear(down * down * channels, arch.dense_dim));
  dense1_ = register_module(
      "dense1", torch::nn::Linear(arch.dense_dim,
                                  arch.latent_size * arch.latent_size * arch.latent_channels));
  upscale_ = register_module("upscale", UpscaleBlock(arch.latent_channels, arch.encoder_upscale));
}

torch::Tensor EncoderImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = x;
  for (DownscaleBlock& block : downs_) y = block->forward(y);
  // The layout the convs work in (channels-last when the input or the weights are).
  const torch::MemoryFormat format = y.suggest_memory_format();
  // NHWC flatten, as Keras: a free view when y is channels-last (a copy otherwise, of a small
  // tensor), and the dense weights keep Keras' meaning.
  y = y.permute({0, 2, 3, 1}).flatten(1);
  y = dense1_->forward(dense0_->forward(y));
  // NHWC reshape, as Keras: its NCHW view has channels-last strides at no cost. In NCHW mode it
  // is made NCHW (a small copy), since a conv fed the other layout reorders its weights per call.
  y = y.view({y.size(0), latent_size_, latent_size_, latent_channels_}).permute({0, 3, 1, 2});
  return upscale_->forward(y.contiguous(format));
}

void EncoderImpl::Reset(at::Generator& gen, bool icnr) {
  for (DownscaleBlock& block : downs_) block->Reset(gen);
  InitLinear(dense0_, gen);
  InitLinear(dense1_, gen);
  upscale_->Reset(gen, icnr);
}

DecoderImpl::DecoderImpl(const Architecture& arch, bool learn_mask) {
  const int branches = learn_mask ? 2 : 1;
  for (int branch = 0; branch < branches; ++branch) {
    const std::string prefix = branch == 0 ? "face" : "mask";
    std::vector<UpscaleBlock>& ups = branch == 0 ? face_ups_ : mask_ups_;
    int64_t channels = arch.encoder_upscale;
    for (size_t i = 0; i < arch.decoder_filters.size(); ++i) {
      ups.push_back(register_module(absl::StrCat(prefix, "_up", i),
                                    UpscaleBlock(channels, arch.decoder_filters[i])));
      channels = arch.decoder_filters[i];
    }
    OutputConv out = register_module(prefix + "_out", OutputConv(channels, branch == 0 ? 3 : 1));
    (branch == 0 ? face_out_ : mask_out_) = out;
  }
}

DecoderOutput DecoderImpl::forward(const torch::Tensor& latent) {
  DecoderOutput out;
  torch::Tensor y = latent;
  for (UpscaleBlock& block : face_ups_) y = block->forward(y);
  out.face = face_out_->forward(y);
  if (mask_out_) {
    torch::Tensor m = latent;
    for (UpscaleBlock& block : mask_ups_) m = block->forward(m);
    out.mask = mask_out_->forward(m);
  }
  return out;
}

void DecoderImpl::Reset(at::Generator& gen, bool icnr) {
  for (UpscaleBlock& block : face_ups_) block->Reset(gen, icnr);
  face_out_->Reset(gen);
  for (UpscaleBlock& block : mask_ups_) block->Reset(gen, icnr);
  if (mask_out_) mask_out_->Reset(gen);
}

FaceSwapModel::FaceSwapModel(Architecture arch, const ModelOptions& options, WeightInit init)
    : arch_(std::move(arch)), options_(options) {
  const int64_t out_size = arch_.latent_size << (1 + arch_.decoder_filters.size());
  TORCH_CHECK(out_size == arch_.input_size, "model \"", arch_.name, "\" decodes ", out_size,
              " px faces for ", arch_.input_size, " px input");
  encoder_ = register_module("encoder", Encoder(arch_));
  decoder_a_ = register_module("decoder_a", Decoder(arch_, options_.learn_mask));
  decoder_b_ = register_module("decoder_b", Decoder(arch_, options_.learn_mask));
  if (init == WeightInit::kToBeLoaded) return;
  // One generator in a fixed order (encoder, decoder A, decoder B) makes the weights a function
  // of the seed alone.
  at::Generator gen = MakeInitGenerator(options_.seed);
  encoder_->Reset(gen, options_.icnr_init);
  decoder_a_->Reset(gen, options_.icnr_init);
  decoder_b_->Reset(gen, options_.icnr_init);
}

torch::Tensor FaceSwapModel::Encode(const torch::Tensor& x) { return encoder_->forward(x); }

DecoderOutput FaceSwapModel::Decode(const torch::Tensor& latent, Side side) {
  return side == Side::kA ? decoder_a_->forward(latent) : decoder_b_->forward(latent);
}

DecoderOutput FaceSwapModel::Forward(const torch::Tensor& x, Side side) {
  return Decode(Encode(x), side);
}

std::vector<torch::Tensor> FaceSwapModel::EncoderParameters() const {
  std::vector<torch::Tensor> out;
  Append(out, *encoder_);
  return out;
}

std::vector<torch::Tensor> FaceSwapModel::DecoderParameters(Side side) const {
  std::vector<torch::Tensor> out;
  Append(out, side == Side::kA ? *decoder_a_ : *decoder_b_);
  return out;
}

int64_t FaceSwapModel::ParameterCount() const { return CountParameters(*this); }

void ToChannelsLast(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (torch::Tensor& p : module.parameters()) {
    if (p.dim() == 4) p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast));
  }
  for (torch::Tensor& b : module.buffers()) {
    if (b.dim() == 4) b.set_data(b.contiguous(torch::MemoryFormat::ChannelsLast));
  }
}

int64_t CountParameters(const torch::nn::Module& module) {
  int64_t count = 0;
  for (const torch::Tensor& p : module.parameters()) count += p.numel();
  return count;
}

}  // namespace fsc::model
