// TrainOptions <-> JSON and validation.
#include "core/train/train_options.h"

#include <exception>

#include "absl/strings/str_cat.h"
#include "core/model/adversarial_loss.h"
#include "core/model/model_registry.h"
#include "core/train/checkpoint.h"
#include "core/util/limits.h"
#include "core/util/status_macros.h"

namespace fsc::train {

absl::StatusOr<Precision> ParsePrecision(const std::string& name) {
  if (name == "fp32") return Precision::kFp32;
  if (name == "bf16") return Precision::kBf16;
  if (name == "fp16") return Precision::kFp16;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown precision \"", name, "\"; use auto, fp32, bf16 or fp16"));
}

std::string PrecisionName(Precision precision) {
  switch (precision) {
    case Precision::kFp32:
      return "fp32";
    case Precision::kBf16:
      return "bf16";
    case Precision::kFp16:
      return "fp16";
  }
  return "?";
}

namespace {

// The options a checkpoint keeps, each with its manifest key: the one list that saving and
// loading both walk. `threads` is kept so that a resume computes with the same thread count
// (bit-exact continuation); a flag given with --resume overrides it.
template <typename Options, typename Visit>
void VisitSavedOptions(Options& o, Visit&& visit) {
  visit("model", o.model);
  visit("learn_mask", o.learn_mask);
  visit("icnr_init", o.icnr_init);
  visit("faces_a", o.faces_a);
  visit("faces_b", o.faces_b);
  visit("batch_size", o.batch_size);
  visit("coverage", o.coverage);
  visit("mask_type", o.mask_type);
  visit("augment", o.augment);
  visit("warp", o.warp);
  visit("learning_rate", o.learning_rate);
  visit("beta1", o.beta1);
  visit("beta2", o.beta2);
  visit("epsilon", o.epsilon);
  visit("loss", o.loss);
  visit("eye_multiplier", o.eye_multiplier);
  visit("mouth_multiplier", o.mouth_multiplier);
  visit("mask_loss_weight", o.mask_loss_weight);
  visit("gan_weight", o.gan_weight);
  visit("gan_loss", o.gan_loss);
  visit("gan_learning_rate", o.gan_learning_rate);
  visit("gan_filters", o.gan_filters);
  visit("clip_grad_norm", o.clip_grad_norm);
  visit("iterations", o.iterations);
  visit("save_every", o.save_every);
  visit("snapshot_every", o.snapshot_every);
  visit("keep_snapshots", o.keep_snapshots);
  visit("preview_every", o.preview_every);
  visit("timelapse", o.timelapse);
  visit("preview_rows", o.preview_rows);
  visit("log_every", o.log_every);
  visit("precision", o.precision);
  visit("seed", o.seed);
  visit("deterministic", o.deterministic);
  visit("threads", o.threads);
  visit("loader_threads", o.loader_threads);
}

}  // namespace

nlohmann::json TrainOptionsToJson(const TrainOptions& o) {
  nlohmann::json j = nlohmann::json::object();
  VisitSavedOptions(o, [&](const char* key, const auto& value) { j[key] = value; });
  if (o.architecture) j["architecture"] = ArchitectureToJson(*o.architecture);
  return j;
}

absl::Status TrainOptionsFromJson(const nlohmann::json& j, TrainOptions* o) {
  try {
    VisitSavedOptions(*o, [&](const char* key, auto& field) {
      if (j.contains(key)) field = j.at(key).get<std::decay_t<decltype(field)>>();
    });
    if (j.contains("architecture")) {
      FSC_ASSIGN_OR_RETURN(o->architecture, ArchitectureFromJson(j.at("architecture")));
    }
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("bad train config: ", e.what()));
  }
  return absl::OkStatus();
}

absl::Status ValidateTrainOptions(const TrainOptions& o) {
  auto bad = [](const std::string& what) { return absl::InvalidArgumentError(what); };
  if (!o.architecture) {
    FSC_RETURN_IF_ERROR(model::FindArchitecture(o.model).status());
  }
  FSC_ASSIGN_OR_RETURN(ImageLoss loss, ImageLoss::Parse(o.loss));
  const int64_t size =
      o.architecture ? o.architecture->input_size : model::FindArchitecture(o.model)->input_size;
  FSC_RETURN_IF_ERROR(loss.CheckImageSize(size, size));
  if (o.precision != "auto") FSC_RETURN_IF_ERROR(ParsePrecision(o.precision).status());
  FSC_RETURN_IF_ERROR(model::ParseAdversarialLoss(o.gan_loss).status());
  if (o.mask_type != "none" && o.mask_type != "hull" && o.mask_type != "components" &&
      o.mask_type != "extended") {
    return bad(absl::StrCat("unknown mask type \"", o.mask_type,
                            "\"; use none, hull, components or extended"));
  }
  if (o.learn_mask && o.mask_type == "none") {
    return bad("--learn-mask needs a mask type to learn (--mask hull|components|extended)");
  }
  if (o.batch_size < 1) return bad("batch size must be at least 1");
  if (!(o.coverage > 0 && o.coverage <= 1)) return bad("coverage must be in (0, 1]");
  if (!(o.learning_rate > 0)) return bad("learning rate must be > 0");
  if (!(o.beta1 >= 0 && o.beta1 < 1) || !(o.beta2 >= 0 && o.beta2 < 1)) {
    return bad("Adam betas must be in [0, 1)");
  }
  if (!(o.epsilon > 0)) return bad("Adam epsilon must be > 0");
  if (o.eye_multiplier < 0 || o.mouth_multiplier < 0) {
    return bad("eye and mouth multipliers must be >= 0");
  }
  if (o.mask_loss_weight < 0) return bad("mask loss weight must be >= 0");
  if (o.gan_weight < 0) return bad("GAN weight must be >= 0 (0 turns it off)");
  if (o.gan_weight > 0 && !(o.gan_learning_rate > 0)) return bad("GAN learning rate must be > 0");
  if (o.gan_filters < 1) return bad("GAN filters must be at least 1");
  if (o.clip_grad_norm < 0) return bad("gradient clipping norm must be >= 0 (0 turns it off)");
  if (o.iterations < 0) return bad("iterations must be >= 0");
  if (o.save_every < 1) return bad("save-every must be at least 1");
  if (o.snapshot_every < 0 || o.keep_snapshots < 0) return bad("snapshot options must be >= 0");
  if (o.preview_every < 0) return bad("preview-every must be >= 0 (0 turns previews off)");
  if (o.preview_rows < 1) return bad("preview rows must be at least 1");
  if (o.log_every < 1) return bad("log-every must be at least 1");
  if (o.threads < 0 || o.threads > util::kMaxThreads) {
    return bad(absl::StrCat("--threads ", o.threads, " not in 0..", util::kMaxThreads,
                            " (0: one per core)"));
  }
  if (o.loader_threads < 1 || o.loader_threads > util::kMaxThreads) {
    return bad(
        absl::StrCat("--loader-threads ", o.loader_threads, " not in 1..", util::kMaxThreads));
  }
  if (o.world_size < 1 || o.rank < 0 || o.rank >= o.world_size) {
    return bad("rank must be in [0, world size)");
  }
  if (o.world_size > o.batch_size) {
    return bad(absl::StrCat("a batch of ", o.batch_size, " cannot be shared by ", o.world_size,
                            " ranks (each needs at least one face per side); raise --batch"));
  }
  return absl::OkStatus();
}

}  // namespace fsc::train
