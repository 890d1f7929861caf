// The training step: forward, losses, backward, gradient hook, clipping, Adam; GAN alternation.
#include "core/train/train_step.h"

#include <exception>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/model/autocast_scope.h"
#include "core/model/device.h"
#include "core/model/model_registry.h"
#include "core/util/cpu_features.h"
#include "core/util/status_macros.h"

namespace fsc::train {
namespace {

// The autocast dtype of a precision (none for fp32).
std::optional<at::ScalarType> AutocastType(Precision precision) {
  switch (precision) {
    case Precision::kBf16:
      return at::kBFloat16;
    case Precision::kFp16:
      return at::kHalf;
    case Precision::kFp32:
      break;
  }
  return std::nullopt;
}

std::vector<std::pair<std::string, torch::Tensor>> NamedParams(const torch::nn::Module& m) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& item : m.named_parameters(/*recurse=*/true)) {
    out.emplace_back(item.key(), item.value());
  }
  return out;
}

std::vector<torch::Tensor> ParamList(const std::vector<std::pair<std::string, torch::Tensor>>& p) {
  std::vector<torch::Tensor> out;
  out.reserve(p.size());
  for (const auto& [name, t] : p) out.push_back(t);
  return out;
}

// Every parameter's gradient, made defined (zeros) where backward left none, so that the hook
// and the all-reduce always see the same list.
std::vector<torch::Tensor> Gradients(const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> grads;
  grads.reserve(params.size());
  for (const torch::Tensor& p : params) {
    if (!p.grad().defined()) const_cast<torch::Tensor&>(p).mutable_grad() = torch::zeros_like(p);
    grads.push_back(p.grad());
  }
  return grads;
}

void SetRequiresGrad(torch::nn::Module& m, bool on) {
  for (torch::Tensor& p : m.parameters()) p.requires_grad_(on);
}

absl::Status CheckBatch(const Batch& batch, const char* side, int64_t size) {
  if (!batch.input.defined() || !batch.target.defined() || batch.input.dim() != 4 ||
      batch.input.size(1) != 3 || batch.input.size(2) != size || batch.input.size(3) != size ||
      batch.target.sizes() != batch.input.sizes()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "batch ", side, ": input and target must be N x 3 x ", size, " x ", size, " tensors"));
  }
  return absl::OkStatus();
}

// Both sides' inputs in one channels-last 2N batch on the device: a single copy that does the
// concatenation, the layout change and the host-to-device transfer at once.
torch::Tensor StackInputs(const torch::Tensor& a, const torch::Tensor& b, torch::Device device) {
  const int64_t na = a.size(0);
  torch::Tensor both = torch::empty({na + b.size(0), a.size(1), a.size(2), a.size(3)},
                                    torch::TensorOptions().dtype(torch::kFloat32).device(device),
                                    torch::MemoryFormat::ChannelsLast);
  both.narrow(0, 0, na).copy_(a, /*non_blocking=*/true);
  both.narrow(0, na, b.size(0)).copy_(b, /*non_blocking=*/true);
  return both;
}

torch::Tensor ToDevice(const torch::Tensor& t, torch::Device device) {
  if (!t.defined()) return t;
  return t.to(device, /*non_blocking=*/true);
}

}  // namespace

void AddLosses(const StepLosses& x, StepLosses* sum) {
  sum->a += x.a;
  sum->b += x.b;
  sum->mask_a += x.mask_a;
  sum->mask_b += x.mask_b;
  sum->gan_g_a += x.gan_g_a;
  sum->gan_g_b += x.gan_g_b;
  sum->gan_d_a += x.gan_d_a;
  sum->gan_d_b += x.gan_d_b;
}

StepLosses DivideLosses(StepLosses sum, double n) {
  for (double* x : {&sum.a, &sum.b, &sum.mask_a, &sum.mask_b, &sum.gan_g_a, &sum.gan_g_b,
                    &sum.gan_d_a, &sum.gan_d_b}) {
    *x /= n;
  }
  return sum;
}

bool CpuHasBf16() { return util::CpuHasAnyFlag({"avx512_bf16", "amx_bf16"}); }

absl::StatusOr<std::unique_ptr<TrainStep>> TrainStep::Create(const TrainOptions& options) {
  FSC_RETURN_IF_ERROR(ValidateTrainOptions(options));
  std::unique_ptr<TrainStep> step(new TrainStep());
  step->options_ = options;
  FSC_ASSIGN_OR_RETURN(step->device_, model::ResolveDevice(options.device));
  if (options.precision == "auto") {
    step->precision_ =
        step->device_.is_cuda() || CpuHasBf16() ? Precision::kBf16 : Precision::kFp32;
  } else {
    FSC_ASSIGN_OR_RETURN(step->precision_, ParsePrecision(options.precision));
  }
  if (step->device_.is_cpu() && step->precision_ == Precision::kFp16) {
    return absl::FailedPreconditionError(
        "fp16 training needs a CUDA GPU (CPUs have no fast fp16 arithmetic and fp16 needs loss "
        "scaling); on the CPU use --precision bf16 (AVX-512 BF16 / AMX CPUs) or fp32");
  }
  if (step->device_.is_cpu() && step->precision_ == Precision::kBf16 && !CpuHasBf16()) {
    return absl::FailedPreconditionError(
        "this CPU has no bf16 arithmetic (AVX-512 BF16 or AMX); bf16 would be emulated and "
        "slower than fp32: use --precision fp32");
  }
  FSC_ASSIGN_OR_RETURN(ImageLoss loss, ImageLoss::Parse(options.loss));
  step->loss_ = loss;
  FSC_ASSIGN_OR_RETURN(step->gan_loss_, model::ParseAdversarialLoss(options.gan_loss));
  if (options.threads > 0) torch::set_num_threads(options.threads);
  if (options.deterministic) at::globalContext().setDeterministicAlgorithms(true, false);

  model::ModelOptions model_options;
  model_options.learn_mask = options.learn_mask;
  model_options.icnr_init = options.icnr_init;
  model_options.seed = static_cast<uint64_t>(options.seed);
  try {
    if (options.architecture) {
      step->model_ = std::make_shared<model::FaceSwapModel>(*options.architecture, model_options);
    } else {
      FSC_ASSIGN_OR_RETURN(step->model_, model::CreateModel(options.model, model_options));
    }
    step->model_->to(step->device_);
    model::ToChannelsLast(*step->model_);
    AdamOptions adam{options.learning_rate, options.beta1, options.beta2, options.epsilon};
    step->optimizer_ = std::make_unique<Adam>(NamedParams(*step->model_), adam);

    if (options.gan_weight > 0) {
      model::DiscriminatorOptions d;
      d.input_size = step->model_->input_size();
      d.base_filters = options.gan_filters;
      std::vector<std::pair<std::string, torch::Tensor>> params;
      for (int side = 0; side < 2; ++side) {
        d.seed = static_cast<uint64_t>(options.seed) + 1 + side;
        FSC_ASSIGN_OR_RETURN(model::PatchDiscriminator disc, model::CreatePatchDiscriminator(d));
        disc->to(step->device_);
        model::ToChannelsLast(*disc);
        const std::string prefix = side == 0 ? "a." : "b.";
        for (auto& [name, p] : NamedParams(*disc)) params.emplace_back(prefix + name, p);
        (side == 0 ? step->disc_a_ : step->disc_b_) = disc;
      }
      AdamOptions dadam{options.gan_learning_rate, options.beta1, options.beta2, options.epsilon};
      step->disc_optimizer_ = std::make_unique<Adam>(std::move(params), dadam);
    }
    if (step->precision_ == Precision::kFp16) {
      step->loss_scale_ = torch::full({1}, 65536.0, torch::TensorOptions().device(step->device_));
      step->growth_tracker_ =
          torch::zeros({1}, torch::TensorOptions().dtype(torch::kInt32).device(step->device_));
    }
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("setting up training: ", e.what()));
  }
  return step;
}

bool TrainStep::UnscaleGradients(const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> grads = Gradients(params);
  torch::Tensor found_inf = torch::zeros({1}, loss_scale_.options());
  at::_amp_foreach_non_finite_check_and_unscale_(grads, found_inf, loss_scale_.reciprocal());
  at::_amp_update_scale_(loss_scale_, growth_tracker_, found_inf, 2.0, 0.5, 2000);
  return found_inf.item<float>() == 0;
}

absl::StatusOr<StepLosses> TrainStep::Run(const Batch& a, const Batch& b) {
  const int64_t size = model_->input_size();
  FSC_RETURN_IF_ERROR(CheckBatch(a, "A", size));
  FSC_RETURN_IF_ERROR(CheckBatch(b, "B", size));
  StepLosses losses;
  try {
    model_->train();
    optimizer_->ZeroGrad();
    const int64_t na = a.input.size(0);
    torch::Tensor input = StackInputs(a.input, b.input, device_);
    torch::Tensor target_a = ToDevice(a.target, device_), target_b = ToDevice(b.target, device_);
    torch::Tensor mask_a = ToDevice(a.mask, device_), mask_b = ToDevice(b.mask, device_);
    torch::Tensor weight_a = ToDevice(a.weight, device_), weight_b = ToDevice(b.weight, device_);

    model::DecoderOutput out_a, out_b;
    torch::Tensor total;
    {
      model::AutocastScope autocast(device_, AutocastType(precision_));
      torch::Tensor latent = model_->Encode(input);
      out_a = model_->Decode(latent.narrow(0, 0, na), model::Side::kA);
      out_b = model_->Decode(latent.narrow(0, na, latent.size(0) - na), model::Side::kB);
    }
    // The losses run in float32 whatever the outputs' dtype (loss.h).
    FSC_ASSIGN_OR_RETURN(torch::Tensor loss_a, loss_->Compute(out_a.face, target_a, weight_a));
    FSC_ASSIGN_OR_RETURN(torch::Tensor loss_b, loss_->Compute(out_b.face, target_b, weight_b));
    total = loss_a + loss_b;
    losses.a = loss_a.item<double>();
    losses.b = loss_b.item<double>();
    if (model_->learn_mask() && mask_a.defined() && mask_b.defined()) {
      torch::Tensor ma = MseLoss(out_a.mask, mask_a), mb = MseLoss(out_b.mask, mask_b);
      total = total + options_.mask_loss_weight * (ma + mb);
      losses.mask_a = ma.item<double>();
      losses.mask_b = mb.item<double>();
    }
    if (has_gan()) {
      // The generator's pass through frozen discriminators: no gradients for them here.
      SetRequiresGrad(*disc_a_, false);
      SetRequiresGrad(*disc_b_, false);
      torch::Tensor ga, gb;
      {
        model::AutocastScope autocast(device_, AutocastType(precision_));
        ga = model::GeneratorAdversarialLoss(disc_a_->forward(out_a.face), gan_loss_);
        gb = model::GeneratorAdversarialLoss(disc_b_->forward(out_b.face), gan_loss_);
      }
      SetRequiresGrad(*disc_a_, true);
      SetRequiresGrad(*disc_b_, true);
      total = total + options_.gan_weight * (ga + gb);
      losses.gan_g_a = ga.item<double>();
      losses.gan_g_b = gb.item<double>();
    }

    const std::vector<torch::Tensor> params = ParamList(optimizer_->params());
    if (precision_ == Precision::kFp16) total = total * loss_scale_;
    total.backward();
    if (options_.gradient_hook) {
      FSC_RETURN_IF_ERROR(options_.gradient_hook("model", Gradients(params)));
    }
    bool finite = true;
    if (precision_ == Precision::kFp16) finite = UnscaleGradients(params);
    if (finite) {
      if (options_.clip_grad_norm > 0) {
        torch::nn::utils::clip_grad_norm_(params, options_.clip_grad_norm);
      }
      optimizer_->Step();
    } else {
      losses.skipped = true;
    }
    if (has_gan()) {
      FSC_RETURN_IF_ERROR(
          RunDiscriminators(target_a, out_a.face.detach(), target_b, out_b.face.detach(), &losses));
    }
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("training step failed: ", e.what()));
  }
  return losses;
}

absl::Status TrainStep::RunDiscriminators(const torch::Tensor& real_a, const torch::Tensor& fake_a,
                                          const torch::Tensor& real_b, const torch::Tensor& fake_b,
                                          StepLosses* losses) {
  disc_optimizer_->ZeroGrad();
  torch::Tensor da, db;
  {
    model::AutocastScope autocast(device_, AutocastType(precision_));
    auto cl = [](const torch::Tensor& t) {
      return t.contiguous(torch::MemoryFormat::ChannelsLast);
    };
    da = model::DiscriminatorLoss(disc_a_->forward(cl(real_a)), disc_a_->forward(cl(fake_a)),
                                  gan_loss_);
    db = model::DiscriminatorLoss(disc_b_->forward(cl(real_b)), disc_b_->forward(cl(fake_b)),
                                  gan_loss_);
  }
  torch::Tensor total = da + db;
  const std::vector<torch::Tensor> params = ParamList(disc_optimizer_->params());
  if (precision_ == Precision::kFp16) total = total * loss_scale_;
  total.backward();
  if (options_.gradient_hook) {
    FSC_RETURN_IF_ERROR(options_.gradient_hook("discriminators", Gradients(params)));
  }
  if (precision_ == Precision::kFp16 && !UnscaleGradients(params)) return absl::OkStatus();
  if (options_.clip_grad_norm > 0) {
    torch::nn::utils::clip_grad_norm_(params, options_.clip_grad_norm);
  }
  disc_optimizer_->Step();
  losses->gan_d_a = da.item<double>();
  losses->gan_d_b = db.item<double>();
  return absl::OkStatus();
}

absl::StatusOr<torch::Tensor> TrainStep::Predict(const torch::Tensor& input, model::Side side) {
  try {
    torch::NoGradGuard no_grad;
    torch::Tensor x = torch::empty(input.sizes(), torch::TensorOptions().device(device_),
                                   torch::MemoryFormat::ChannelsLast);
    x.copy_(input);
    model::AutocastScope autocast(device_, AutocastType(precision_));
    torch::Tensor face = model_->Forward(x, side).face;
    return face.to(torch::kCPU, torch::kFloat32).contiguous();
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("model prediction failed: ", e.what()));
  }
}

std::vector<std::pair<std::string, std::vector<torch::Tensor>>> TrainStep::GradientGroups() const {
  std::vector<std::pair<std::string, std::vector<torch::Tensor>>> groups;
  groups.emplace_back("model", ParamList(optimizer_->params()));
  if (disc_optimizer_) groups.emplace_back("discriminators", ParamList(disc_optimizer_->params()));
  return groups;
}

NamedTensors TrainStep::ModelTensors() const { return ModuleTensors(*model_); }

NamedTensors TrainStep::DiscriminatorTensors() const {
  NamedTensors out;
  if (!has_gan()) return out;
  for (auto& [name, t] : ModuleTensors(*disc_a_)) out.emplace_back("a." + name, t);
  for (auto& [name, t] : ModuleTensors(*disc_b_)) out.emplace_back("b." + name, t);
  return out;
}

NamedTensors TrainStep::OptimizerTensors() const {
  NamedTensors out = optimizer_->StateTensors("model.");
  if (disc_optimizer_) {
    for (auto& entry : disc_optimizer_->StateTensors("discriminators.")) out.push_back(entry);
  }
  return out;
}

absl::Status TrainStep::LoadModel(const std::map<std::string, torch::Tensor>& t,
                                  const std::string& what) {
  return RestoreModule(*model_, t, what);
}

absl::Status TrainStep::LoadDiscriminators(const std::map<std::string, torch::Tensor>& t,
                                           const std::string& what) {
  if (!has_gan()) return absl::OkStatus();
  std::map<std::string, torch::Tensor> a, b;
  for (const auto& [name, tensor] : t) {
    if (absl::StartsWith(name, "a.")) a[name.substr(2)] = tensor;
    if (absl::StartsWith(name, "b.")) b[name.substr(2)] = tensor;
  }
  FSC_RETURN_IF_ERROR(RestoreModule(*disc_a_, a, what));
  return RestoreModule(*disc_b_, b, what);
}

absl::Status TrainStep::LoadOptimizers(const std::map<std::string, torch::Tensor>& t,
                                       const std::string& what, bool with_discriminators) {
  FSC_RETURN_IF_ERROR(optimizer_->LoadState(t, "model.", what));
  if (disc_optimizer_ && with_discriminators) {
    FSC_RETURN_IF_ERROR(disc_optimizer_->LoadState(t, "discriminators.", what));
  }
  return absl::OkStatus();
}

}  // namespace fsc::train
