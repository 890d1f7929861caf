// Post-training int8 quantisation of a face-swap model for CPU inference (see int8_swap_net.h).
// The quantised kernels are LibTorch's own (the `quantized::` operators on the oneDNN engine),
// reached through the dispatcher, since LibTorch's C++ frontend has no quantised modules.
#include "core/convert/int8_swap_net.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/native/quantized/PackedParams.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/model/autocast_scope.h"
#include "core/util/cpu_features.h"

namespace fsc::convert {
namespace {

using PackedConv = c10::intrusive_ptr<ConvPackedParamsBase<2>>;
using PackedLinear = c10::intrusive_ptr<LinearPackedParamsBase>;

// Activation ranges are widened by this factor beyond what the calibration faces reached: faces
// later in a video may be brighter or more extreme, and saturating costs more than 0.3 bit.
constexpr double kRangeMargin = 1.25;
constexpr double kLeakySlope = model::kLeakySlope;
constexpr double kLogitLimit = 8.0 / kRangeMargin;

// The range a tensor's values covered over the calibration faces (always including 0).
struct Range {
  double lo = 0, hi = 0;
  void Add(const torch::Tensor& t) {
    lo = std::min(lo, t.min().item<double>());
    hi = std::max(hi, t.max().item<double>());
  }
  // uint8 affine parameters covering the widened range.
  std::pair<double, int64_t> QuantParams() const {
    const double low = lo * kRangeMargin, high = hi * kRangeMargin;
    const double scale = std::max(high - low, 1e-6) / 255.0;
    const int64_t zero_point = std::clamp<int64_t>(std::llround(-low / scale), 0, 255);
    return {scale, zero_point};
  }
};

c10::IValue CallOp(const char* name, torch::jit::Stack stack) {
  const c10::OperatorHandle op = c10::Dispatcher::singleton().findSchemaOrThrow(name, "");
  op.callBoxed(&stack);
  return std::move(stack.at(0));
}

// The weights' int8 per-output-channel symmetric quantisation (max |w| / 127 per channel).
torch::Tensor QuantizeWeight(const torch::Tensor& weight) {
  torch::Tensor w = weight.detach().to(torch::kFloat32).contiguous();
  std::vector<int64_t> reduce;
  for (int64_t d = 1; d < w.dim(); ++d) reduce.push_back(d);
  torch::Tensor scales = (w.abs().amax(reduce).to(torch::kFloat64) / 127.0).clamp_min(1e-12);
  torch::Tensor zero_points = torch::zeros({w.size(0)}, torch::kLong);
  return at::quantize_per_channel(w, scales, zero_points, 0, at::kQInt8);
}

// int8 per-output-channel symmetric weights, prepacked for the quantised engine.
PackedConv Pack(const torch::Tensor& weight, const torch::Tensor& bias, int64_t stride,
                int64_t padding) {
  c10::optional<torch::Tensor> b = bias.detach().to(torch::kFloat32).contiguous();
  torch::jit::Stack stack{QuantizeWeight(weight),
                          b,
                          c10::List<int64_t>({stride, stride}),
                          c10::List<int64_t>({padding, padding}),
                          c10::List<int64_t>({1, 1}),
                          int64_t{1}};
  return CallOp("quantized::conv2d_prepack", std::move(stack))
      .toCustomClass<ConvPackedParamsBase<2>>();
}

// int8 per-output-channel symmetric weights of a dense layer, prepacked.
PackedLinear PackLinear(const torch::Tensor& weight, const torch::Tensor& bias) {
  c10::optional<torch::Tensor> b = bias.detach().to(torch::kFloat32).contiguous();
  torch::jit::Stack stack{QuantizeWeight(weight), b};
  return CallOp("quantized::linear_prepack", std::move(stack))
      .toCustomClass<LinearPackedParamsBase>();
}

torch::Tensor QuantizedLeakyRelu(const torch::Tensor& q, double scale, int64_t zero_point) {
  torch::jit::Stack stack{q, at::Scalar(kLeakySlope), false, scale, zero_point};
  return CallOp("quantized::leaky_relu", std::move(stack)).toTensor();
}

// The output-channel order a shuffling layer's conv is packed in: sub-pixel major, (i, j, c)
// instead of the model's (c, i, j), so that every output pixel of the shuffle is one contiguous
// run of C channels in the conv's channels-last result (see ShuffleChannelsLast).
torch::Tensor SubPixelMajorOrder(int64_t channels) {
  const int64_t c = channels / 4;
  // new index s * c + k holds the model's channel k * 4 + s
  return torch::arange(channels, torch::kLong).view({c, 4}).t().flatten();
}

// Pixel shuffle x2 of an N x 4C x H x W channels-last tensor whose channels are in sub-pixel-major
// order: a copy of C-channel runs, where LibTorch's pixel_shuffle gathers single elements and
// returns a layout the next conv must reorder. The result is channels-last.
torch::Tensor ShuffleChannelsLast(const torch::Tensor& y) {
  const int64_t n = y.size(0), c = y.size(1) / 4, h = y.size(2), w = y.size(3);
  return y.contiguous(at::MemoryFormat::ChannelsLast)
      .permute({0, 2, 3, 1})  // N H W (i j c), the memory order
      .reshape({n, h, w, 2, 2, c})
      .permute({0, 1, 3, 2, 4, 5})  // N H i W j c
      .contiguous()
      .view({n, 2 * h, 2 * w, c})
      .permute({0, 3, 1, 2});  // N C 2H 2W over channels-last memory
}

torch::Tensor FloatConv(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b,
                        int64_t stride) {
  return torch::conv2d(x, w, b, stride, w.size(2) / 2);
}

// The named parameters of the model, float32 and detached.
std::map<std::string, torch::Tensor> Parameters(model::FaceSwapModel& model) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& item : model.named_parameters(/*recurse=*/true)) {
    out[item.key()] = item.value().detach().to(torch::kFloat32);
  }
  return out;
}

}  // namespace

struct Int8SwapNet::OutputLayer {
  PackedConv packed;
  double scale = 1;  // the logits before the sigmoid
  int64_t zero_point = 0;
};

struct Int8SwapNet::DenseLayer {
  PackedLinear packed;
  double scale = 1;  // the output
  int64_t zero_point = 0;
};

struct Int8SwapNet::Layer {
  PackedConv packed;
  double conv_scale = 1;  // the conv's output
  int64_t conv_zero_point = 0;
  double act_scale = 1;  // after LeakyReLU
  int64_t act_zero_point = 0;
  bool shuffle = false;  // pixel shuffle x2 after the activation (upscale blocks)

  torch::Tensor Run(const torch::Tensor& q) const {
    torch::Tensor y = packed->apply(q, conv_scale, conv_zero_point);
    y = QuantizedLeakyRelu(y, act_scale, act_zero_point);
    return shuffle ? ShuffleChannelsLast(y) : y;
  }
};

bool Int8Available() {
  for (at::QEngine engine : at::globalContext().supportedQEngines()) {
    if (engine == at::kONEDNN) return true;
  }
  return false;
}

bool CpuHasInt8DotProduct() { return util::CpuHasAnyFlag({"avx512_vnni", "avx_vnni", "amx_int8"}); }

Int8SwapNet::~Int8SwapNet() = default;

absl::StatusOr<std::unique_ptr<Int8SwapNet>> Int8SwapNet::Build(model::FaceSwapModel& model,
                                                                model::Side decoder,
                                                                const torch::Tensor& calibration) {
  if (!Int8Available()) {
    return absl::FailedPreconditionError(
        "this LibTorch has no oneDNN quantised engine, so int8 inference is not available; use "
        "--precision fp32 or bf16");
  }
  const model::Architecture& arch = model.architecture();
  const int64_t size = arch.input_size;
  if (calibration.dim() != 4 || calibration.size(0) < 1 || calibration.size(1) != 3 ||
      calibration.size(2) != size || calibration.size(3) != size) {
    return absl::InvalidArgumentError(
        absl::StrCat("int8 calibration needs N x 3 x ", size, " x ", size, " faces, got ",
                     calibration.dim() == 4
                         ? absl::StrCat(calibration.size(0), " x ", calibration.size(1), " x ",
                                        calibration.size(2), " x ", calibration.size(3))
                         : absl::StrCat(calibration.dim(), " dimensions")));
  }
  std::unique_ptr<Int8SwapNet> net(new Int8SwapNet());
  try {
    at::globalContext().setQEngine(at::kONEDNN);
    c10::InferenceMode inference;
    std::map<std::string, torch::Tensor> p = Parameters(model);
    const std::string side = decoder == model::Side::kA ? "decoder_a." : "decoder_b.";
    auto param = [&](const std::string& name) -> const torch::Tensor& {
      auto it = p.find(name);
      TORCH_CHECK(it != p.end(), "the model has no parameter ", name);
      return it->second;
    };

    // Float pass over the calibration faces, recording each quantisation point's range and
    // building the quantised layer beside it.
    auto block = [&](const std::string& prefix, const torch::Tensor& x, int64_t stride,
                     bool shuffle, std::vector<Layer>* layers) {
      const torch::Tensor& w = param(prefix + ".conv.weight");
      const torch::Tensor& b = param(prefix + ".conv.bias");
      torch::Tensor conv = FloatConv(x, w, b, stride);
      Range conv_range, act_range;
      conv_range.Add(conv);
      torch::Tensor act = torch::leaky_relu(conv, kLeakySlope);
      act_range.Add(act);
      Layer layer;
      if (shuffle) {
        const torch::Tensor order = SubPixelMajorOrder(w.size(0));
        layer.packed =
            Pack(w.index_select(0, order), b.index_select(0, order), stride, w.size(2) / 2);
      } else {
        layer.packed = Pack(w, b, stride, w.size(2) / 2);
      }
      std::tie(layer.conv_scale, layer.conv_zero_point) = conv_range.QuantParams();
      std::tie(layer.act_scale, layer.act_zero_point) = act_range.QuantParams();
      layer.shuffle = shuffle;
      layers->push_back(std::move(layer));
      return shuffle ? torch::pixel_shuffle(act, 2) : act;
    };

    // The sigmoid's input, clipped to where the sigmoid still moves (beyond |logit| 8 it is
    // within 1/3000 of 0 or 1): the 256 levels go where they show.
    auto output = [&](const std::string& prefix, const torch::Tensor& x) {
      const torch::Tensor& w = param(prefix + ".conv.weight");
      const torch::Tensor& b = param(prefix + ".conv.bias");
      Range range;
      range.Add(FloatConv(x, w, b, 1).clamp(-kLogitLimit, kLogitLimit));
      auto layer = std::make_unique<OutputLayer>();
      layer->packed = Pack(w, b, 1, w.size(2) / 2);
      std::tie(layer->scale, layer->zero_point) = range.QuantParams();
      return layer;
    };

    // Ranges only need a few bits: the float pass runs in bf16 where the CPU has it (a third of
    // the fp32 cost), and its results are float32 where they are compared.
    model::AutocastScope autocast(torch::kCPU, util::CpuHasAnyFlag({"avx512_bf16", "amx_bf16"})
                                                   ? std::optional<at::ScalarType>(at::kBFloat16)
                                                   : std::nullopt);
    torch::Tensor y = calibration.to(torch::kFloat32).contiguous();
    for (size_t i = 0; i < arch.encoder_filters.size(); ++i) {
      y = block(absl::StrCat("encoder.down", i), y, 2, false, &net->downs_);
    }
    auto dense = [&](const std::string& prefix, const torch::Tensor& x) {
      const torch::Tensor& w = param(prefix + ".weight");
      const torch::Tensor& b = param(prefix + ".bias");
      torch::Tensor out = torch::linear(x, w, b);
      Range range;
      range.Add(out);
      auto layer = std::make_unique<DenseLayer>();
      layer->packed = PackLinear(w, b);
      std::tie(layer->scale, layer->zero_point) = range.QuantParams();
      return std::make_pair(std::move(layer), out);
    };
    net->latent_size_ = arch.latent_size;
    net->latent_channels_ = arch.latent_channels;
    // Flattened in NHWC order, the dense weights' (Keras') meaning.
    y = y.permute({0, 2, 3, 1}).flatten(1);
    std::tie(net->dense0_, y) = dense("encoder.dense0", y);
    std::tie(net->dense1_, y) = dense("encoder.dense1", y);
    y = y.view({y.size(0), arch.latent_size, arch.latent_size, arch.latent_channels})
            .permute({0, 3, 1, 2})
            .contiguous();
    const torch::Tensor latent = block("encoder.upscale", y, 1, true, &net->encoder_up_);

    torch::Tensor face = latent;
    for (size_t i = 0; i < arch.decoder_filters.size(); ++i) {
      face = block(absl::StrCat(side, "face_up", i), face, 1, true, &net->face_ups_);
    }
    net->face_out_ = output(side + "face_out", face);
    if (model.learn_mask()) {
      torch::Tensor mask = latent;
      for (size_t i = 0; i < arch.decoder_filters.size(); ++i) {
        mask = block(absl::StrCat(side, "mask_up", i), mask, 1, true, &net->mask_ups_);
      }
      net->mask_out_ = output(side + "mask_out", mask);
    }
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("int8 quantisation of the model failed: ", e.what()));
  }
  return net;
}

model::DecoderOutput Int8SwapNet::Forward(const torch::Tensor& x) const {
  c10::InferenceMode inference;
  torch::Tensor q =
      at::quantize_per_tensor(x.to(torch::kFloat32).contiguous(), 1.0 / 255.0, 0, at::kQUInt8);
  for (const Layer& layer : downs_) q = layer.Run(q);
  q = q.permute({0, 2, 3, 1}).flatten(1);  // NHWC order, a view of the convs' channels-last output
  q = dense0_->packed->apply(q, dense0_->scale, dense0_->zero_point);
  q = dense1_->packed->apply(q, dense1_->scale, dense1_->zero_point);
  // N x (H W C) rows are channels-last memory already.
  q = q.view({q.size(0), latent_size_, latent_size_, latent_channels_}).permute({0, 3, 1, 2});
  const torch::Tensor latent = encoder_up_.front().Run(q);

  auto branch = [&](const std::vector<Layer>& ups, const OutputLayer& out) {
    torch::Tensor h = latent;
    for (const Layer& layer : ups) h = layer.Run(h);
    return out.packed->apply(h, out.scale, out.zero_point).dequantize().sigmoid_();
  };
  model::DecoderOutput out;
  out.face = branch(face_ups_, *face_out_);
  if (!mask_ups_.empty()) out.mask = branch(mask_ups_, *mask_out_);
  return out;
}

}  // namespace fsc::convert
