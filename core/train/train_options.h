// Everything `fsc train` can be told, with Faceswap 3's defaults (see DESIGN.md "The pipeline"),
// its JSON form (stored in a checkpoint's manifest, so that --resume needs no flags) and its
// validation.
#ifndef FSC_CORE_TRAIN_TRAIN_OPTIONS_H_
#define FSC_CORE_TRAIN_TRAIN_OPTIONS_H_

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/model/face_swap_model.h"
#include "core/train/loss.h"

namespace fsc::train {

enum class Precision { kFp32, kBf16, kFp16 };
// "fp32" / "bf16" / "fp16"; INVALID_ARGUMENT otherwise.
absl::StatusOr<Precision> ParsePrecision(const std::string& name);
std::string PrecisionName(Precision precision);

// Called after each backward pass with the gradients of one optimiser's parameters in a fixed
// order (every rank sees the same order), before clipping and the optimiser step: the place
// where a data-parallel runner all-reduces (averages) gradients in place. Called once for the
// autoencoder ("model", its named_parameters order) and, with a GAN, once for the
// discriminators ("discriminators": A's parameters, then B's). Gradients are always defined.
// A non-OK status fails the step before the optimiser changes anything.
using GradientHook =
    std::function<absl::Status(const std::string& group, const std::vector<torch::Tensor>& grads)>;

struct TrainOptions {
  // Model.
  std::string model = "original";  // registry name (model_registry.h)
  // A custom layout instead of a registered one (tests, experiments); its name is the model's.
  std::optional<model::Architecture> architecture;
  bool learn_mask = false;
  bool icnr_init = true;

  // Data.
  std::string faces_a, faces_b;  // folders written by fsc extract
  std::string model_dir;         // checkpoints, previews
  int batch_size = 16;           // per side; the GLOBAL batch, shared by the ranks
  double coverage = 0.875;       // centre fraction of the aligned face the model sees
  std::string mask_type =
      "extended";  // landmark mask for the masked loss: none|hull|components|extended
  bool augment = true;
  bool warp = true;

  // Optimiser and losses.
  double learning_rate = 5e-5;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-7;
  std::string loss = kDefaultLossSpec;
  double eye_multiplier = 3.0;
  double mouth_multiplier = 2.0;
  double mask_loss_weight = 1.0;  // learn_mask: weight of the mask's MSE against the target mask
  double gan_weight = 0.0;        // 0: no adversarial loss
  std::string gan_loss = "lsgan";
  double gan_learning_rate = 1e-4;  // the discriminators' Adam (faceswap-GAN: 2x the generator's)
  int gan_filters = 64;
  double clip_grad_norm = 0.0;  // 0: no clipping

  // Run.
  int64_t iterations = 100000;  // the iteration count to reach (a resumed run continues to it)
  int save_every = 250;
  int snapshot_every = 25000;  // keep a snapshot at these iterations; 0: at every save
  int keep_snapshots = 3;
  int preview_every = 250;  // 0: no previews
  bool timelapse = false;
  int preview_rows = 4;
  int log_every = 50;
  // auto: bf16 autocast on CUDA and on CPUs with bf16 arithmetic (AVX-512 BF16 / AMX), fp32
  // elsewhere (TrainStep resolves it; the checkpoint keeps "auto", so a resume on the same
  // machine resolves it the same way).
  std::string precision = "auto";
  std::string device = "auto";  // auto | cpu | cuda | cuda:N
  int threads = 0;              // LibTorch intra-op threads; 0: LibTorch's default
  int loader_threads = 2;
  int64_t seed = 0;
  bool deterministic = false;  // torch's deterministic algorithms (bit-exact resume)

  // Data-parallel runs (not saved in the manifest). Rank r of world_size trains on rows
  // [r·B/w, (r+1)·B/w) of each global batch of batch_size B (batch_loader.h).
  int rank = 0;
  int world_size = 1;
  bool write_checkpoints = true;  // false: Save and WritePreview do nothing
  GradientHook gradient_hook;
};

// The saved form; excludes the data-parallel fields (rank, world size, hook).
nlohmann::json TrainOptionsToJson(const TrainOptions& options);
// Fills `options` from a manifest's config; fields missing from `json` keep their value.
absl::Status TrainOptionsFromJson(const nlohmann::json& json, TrainOptions* options);

// INVALID_ARGUMENT naming the option for values out of range, an unknown model, loss spec,
// precision, mask type or GAN loss.
absl::Status ValidateTrainOptions(const TrainOptions& options);

}  // namespace fsc::train

#endif  // FSC_CORE_TRAIN_TRAIN_OPTIONS_H_
