// One training step of a face-swap model: the model, its loss, its optimiser and (with a GAN
// weight) one patch discriminator per side with their own optimiser, on one device.
//
// A step takes a batch of A and a batch of B (batch_loader.h layout):
//   1. both inputs go through the shared encoder together (one 2N batch: larger GEMMs, and the
//      encoder's weights are read once), in channels-last, under autocast for bf16/fp16;
//   2. the latent is split, A's half through decoder A, B's through decoder B;
//   3. per side: the reconstruction loss (loss spec, weighted by mask x eye/mouth map), the
//      learned mask's MSE, and with a GAN the generator's adversarial loss on the side's
//      discriminator (frozen for this pass);
//   4. backward of the sum of both sides' losses, the gradient hook (data-parallel all-reduce),
//      optional clipping, Adam;
//   5. with a GAN, each discriminator's step on the batch's targets (real) and the detached
//      reconstructions (fake), through the hook, then their Adam.
// The autoencoder is trained on both sides at once, as Faceswap does (one loss, one optimiser).
//
// Precision: fp32; bf16 autocast (CPU with AVX-512 BF16 or AMX, or CUDA); fp16 autocast with a
// dynamic loss scale (CUDA only; refused on the CPU). Weights and optimiser state stay float32.
#ifndef FSC_CORE_TRAIN_TRAIN_STEP_H_
#define FSC_CORE_TRAIN_TRAIN_STEP_H_

#include <torch/torch.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/model/adversarial_loss.h"
#include "core/model/discriminator.h"
#include "core/model/face_swap_model.h"
#include "core/train/adam.h"
#include "core/train/batch_loader.h"
#include "core/train/checkpoint.h"
#include "core/train/loss.h"
#include "core/train/train_options.h"

namespace fsc::train {

struct StepLosses {
  double a = 0, b = 0;            // reconstruction loss of each side (the loss spec)
  double mask_a = 0, mask_b = 0;  // learned mask's MSE (learn_mask)
  // With a GAN: the generator's adversarial loss (before gan_weight) and the discriminators'.
  double gan_g_a = 0, gan_g_b = 0, gan_d_a = 0, gan_d_b = 0;
  bool skipped = false;  // fp16: non-finite gradients, the step was skipped
};

// Sums and means of step losses (logging intervals; a group's mean over its ranks).
void AddLosses(const StepLosses& x, StepLosses* sum);
StepLosses DivideLosses(StepLosses sum, double n);

// True when the CPU has bf16 arithmetic (AVX-512 BF16 or AMX-BF16), where bf16 autocast pays.
bool CpuHasBf16();

class TrainStep {
 public:
  // Builds the model (weights from options.seed), discriminators and optimisers on the device,
  // sets LibTorch's thread count (options.threads > 0) and deterministic mode.
  // INVALID_ARGUMENT for bad options; FAILED_PRECONDITION for a precision or device this machine
  // lacks.
  static absl::StatusOr<std::unique_ptr<TrainStep>> Create(const TrainOptions& options);

  // One step on a batch of each side (any device; copied to the step's). Errors: INVALID_ARGUMENT
  // for batches of the wrong shape, the gradient hook's error, INTERNAL for LibTorch failures.
  absl::StatusOr<StepLosses> Run(const Batch& a, const Batch& b);

  // The model's face for `input` (N x 3 x S x S, 0..1) through decoder `side`, without gradients,
  // as float32 on the CPU (for previews).
  absl::StatusOr<torch::Tensor> Predict(const torch::Tensor& input, model::Side side);

  // Replaces options.gradient_hook (data-parallel runs change it between generations).
  absl::Status SetGradientHook(GradientHook hook) {
    options_.gradient_hook = std::move(hook);
    return absl::OkStatus();
  }

  // The parameters whose gradients the gradient hook receives, per group, in the hook's order:
  // {"model", ...} and with a GAN {"discriminators", ...}.
  std::vector<std::pair<std::string, std::vector<torch::Tensor>>> GradientGroups() const;

  model::FaceSwapModel& model() { return *model_; }
  const std::shared_ptr<model::FaceSwapModel>& model_ptr() const { return model_; }
  bool has_gan() const { return static_cast<bool>(disc_a_); }
  torch::Device device() const { return device_; }
  Precision precision() const { return precision_; }
  int64_t steps() const { return optimizer_->step_count(); }

  // Checkpoint payloads: the model's tensors by their names; the discriminators' under
  // "a." / "b."; every optimiser's state under "model." / "discriminator_a." / ...
  NamedTensors ModelTensors() const;
  NamedTensors DiscriminatorTensors() const;  // empty without a GAN
  NamedTensors OptimizerTensors() const;
  // Restore them; FAILED_PRECONDITION naming `what` for another architecture.
  absl::Status LoadModel(const std::map<std::string, torch::Tensor>& t, const std::string& what);
  absl::Status LoadDiscriminators(const std::map<std::string, torch::Tensor>& t,
                                  const std::string& what);
  absl::Status LoadOptimizers(const std::map<std::string, torch::Tensor>& t,
                              const std::string& what, bool with_discriminators);

 private:
  TrainStep() = default;
  absl::Status RunDiscriminators(const torch::Tensor& real_a, const torch::Tensor& fake_a,
                                 const torch::Tensor& real_b, const torch::Tensor& fake_b,
                                 StepLosses* losses);
  // fp16: unscales `params`' gradients in place; false when one is not finite.
  bool UnscaleGradients(const std::vector<torch::Tensor>& params);

  TrainOptions options_;
  torch::Device device_ = torch::kCPU;
  Precision precision_ = Precision::kFp32;
  std::optional<ImageLoss> loss_;
  std::shared_ptr<model::FaceSwapModel> model_;
  std::unique_ptr<Adam> optimizer_;
  model::PatchDiscriminator disc_a_{nullptr}, disc_b_{nullptr};
  std::unique_ptr<Adam> disc_optimizer_;
  model::AdversarialLoss gan_loss_ = model::AdversarialLoss::kLsgan;
  // fp16 loss scaling (CUDA).
  torch::Tensor loss_scale_, growth_tracker_;
};

}  // namespace fsc::train

#endif  // FSC_CORE_TRAIN_TRAIN_STEP_H_
