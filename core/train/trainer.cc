// The training loop: data, step, checkpoints, previews, logging.
#include "core/train/trainer.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/face/mask.h"
#include "core/model/model_registry.h"
#include "core/train/checkpoint.h"
#include "core/train/loss_weight_map.h"
#include "core/train/preview.h"
#include "core/train/train_gauges.h"
#include "core/util/status_macros.h"

namespace fsc::train {
namespace {

using Clock = std::chrono::steady_clock;

// Nice value of the background checkpoint write's thread (0 = the steps' own).
constexpr int kBackgroundWriteNice = 10;

double Since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

absl::StatusOr<std::unique_ptr<FaceSet>> LoadSide(const std::string& dir, const char* side,
                                                  std::optional<face::MaskType> mask) {
  if (dir.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("no folder of faces for side ", side, " (--",
                                                   side == std::string("A") ? "a" : "b",
                                                   " DIR, made by fsc extract)"));
  }
  FaceSetOptions options;
  options.masks.clear();
  if (mask) options.masks.push_back(*mask);  // keep only the mask the loss uses
  absl::StatusOr<FaceSet> set = FaceSet::Load(dir, options);
  if (!set.ok()) {
    return absl::Status(set.status().code(),
                        absl::StrCat("faces ", side, ": ", set.status().message()));
  }
  return std::make_unique<FaceSet>(*std::move(set));
}

}  // namespace

nlohmann::json IntervalToJson(const IntervalReport& r, bool gan, bool mask) {
  nlohmann::json j = {{"iteration", r.iteration},
                      {"loss_a", r.losses.a},
                      {"loss_b", r.losses.b},
                      {"examples_per_sec", r.examples_per_sec}};
  if (mask) {
    j["mask_loss_a"] = r.losses.mask_a;
    j["mask_loss_b"] = r.losses.mask_b;
  }
  if (gan) {
    j["gan_g_a"] = r.losses.gan_g_a;
    j["gan_g_b"] = r.losses.gan_g_b;
    j["gan_d_a"] = r.losses.gan_d_a;
    j["gan_d_b"] = r.losses.gan_d_b;
  }
  return j;
}

Trainer::~Trainer() { WaitForSave().IgnoreError(); }

absl::StatusOr<std::unique_ptr<Trainer>> Trainer::Build(const TrainOptions& options,
                                                        int64_t first_batch) {
  FSC_RETURN_IF_ERROR(ValidateTrainOptions(options));
  std::unique_ptr<Trainer> t(new Trainer());
  t->options_ = options;
  std::optional<face::MaskType> mask;
  if (options.mask_type != "none") {
    FSC_ASSIGN_OR_RETURN(mask, face::ParseMaskType(options.mask_type));
  }
  std::unique_ptr<FaceSet> set_a, set_b;
  FSC_ASSIGN_OR_RETURN(set_a, LoadSide(options.faces_a, "A", mask));
  FSC_ASSIGN_OR_RETURN(set_b, LoadSide(options.faces_b, "B", mask));
  FSC_ASSIGN_OR_RETURN(t->step_, TrainStep::Create(options));

  BatchLoaderOptions lo;
  lo.global_batch = options.batch_size;
  lo.threads = options.loader_threads;
  lo.seed = static_cast<uint64_t>(options.seed);
  lo.mask_type = mask;
  lo.augment.size = static_cast<int>(t->step_->model().input_size());
  lo.augment.coverage = options.coverage;
  lo.augment.augment = options.augment;
  lo.augment.warp = options.warp;
  lo.pin_memory = t->step_->device().is_cuda();
  if (mask || options.eye_multiplier != 1 || options.mouth_multiplier != 1) {
    // Mask x eye/mouth emphasis, made on the loader's threads (the step only multiplies).
    LossWeightOptions weights;
    weights.eye_multiplier = options.eye_multiplier;
    weights.mouth_multiplier = options.mouth_multiplier;
    const int size = lo.augment.size;
    lo.weight_map = [weights, size](const AugmentedSample& s) {
      return BuildLossWeightMap(s.landmarks, cv::Size(size, size), s.mask, weights);
    };
  }
  t->loader_options_ = lo;
  // Cropped once for the whole run: every later loader (rollback, new shard) shares them.
  t->prepared_a_ = PreparedFaces::Make(*set_a, lo.augment, lo.mask_type, lo.threads);
  t->prepared_b_ = PreparedFaces::Make(*set_b, lo.augment, lo.mask_type, lo.threads);
  FSC_RETURN_IF_ERROR(t->ResetLoader(first_batch));

  BatchLoaderOptions plain = lo;
  plain.weight_map = nullptr;
  FSC_ASSIGN_OR_RETURN(
      t->preview_a_,
      MakePlainBatch(*set_a, Side::kA, PreviewFaces(set_a->size(), options.preview_rows), plain));
  FSC_ASSIGN_OR_RETURN(
      t->preview_b_,
      MakePlainBatch(*set_b, Side::kB, PreviewFaces(set_b->size(), options.preview_rows), plain));
  return t;
}

absl::Status Trainer::ResetLoader(int64_t first_batch) {
  BatchLoaderOptions lo = loader_options_;
  lo.rank = options_.rank;
  lo.world_size = options_.world_size;
  lo.first_batch = first_batch;
  loader_.reset();  // its workers stop before the new ones start
  absl::StatusOr<std::unique_ptr<BatchLoader>> loader =
      BatchLoader::Create(prepared_a_, prepared_b_, lo);
  if (!loader.ok()) {
    return absl::Status(loader.status().code(),
                        absl::StrCat(loader.status().message(), " (faces A: ", options_.faces_a,
                                     ", ", prepared_a_->size(), " faces; faces B: ",
                                     options_.faces_b, ", ", prepared_b_->size(), " faces)"));
  }
  loader_ = *std::move(loader);
  return absl::OkStatus();
}

absl::Status Trainer::SetDataParallel(int rank, int world_size, GradientHook hook) {
  if (world_size < 1 || rank < 0 || rank >= world_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("rank ", rank, " of a world of ", world_size, " is not valid"));
  }
  if (world_size > options_.batch_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a batch of ", options_.batch_size, " cannot be shared by ", world_size,
        " ranks (each needs at least one face per side); train with a larger --batch"));
  }
  const bool reshard = rank != options_.rank || world_size != options_.world_size;
  options_.rank = rank;
  options_.world_size = world_size;
  options_.gradient_hook = std::move(hook);
  FSC_RETURN_IF_ERROR(step_->SetGradientHook(options_.gradient_hook));
  // The loader is always at batch iteration_ between steps (Rollback and
  // RestoreLastCheckpoint re-create it themselves), so the same shard needs no new one.
  return reshard ? ResetLoader(iteration_) : absl::OkStatus();
}

std::map<std::string, NamedTensors> Trainer::LiveTensors() const {
  std::map<std::string, NamedTensors> roles;
  roles[kWeightsRole] = step_->ModelTensors();
  roles[kOptimizerRole] = step_->OptimizerTensors();
  if (step_->has_gan()) roles[kDiscriminatorsRole] = step_->DiscriminatorTensors();
  return roles;
}

absl::Status Trainer::LoadTensors(
    const std::map<std::string, std::map<std::string, torch::Tensor>>& roles,
    const std::function<std::string(const std::string&)>& what) {
  for (const char* role : {kWeightsRole, kOptimizerRole}) {
    if (roles.count(role) == 0) {
      return absl::DataLossError(absl::StrCat(what(role), ": no ", role, " state"));
    }
  }
  FSC_RETURN_IF_ERROR(step_->LoadModel(roles.at(kWeightsRole), what(kWeightsRole)));
  const bool had_gan = roles.count(kDiscriminatorsRole) > 0;
  if (had_gan && step_->has_gan()) {
    FSC_RETURN_IF_ERROR(
        step_->LoadDiscriminators(roles.at(kDiscriminatorsRole), what(kDiscriminatorsRole)));
  }
  return step_->LoadOptimizers(roles.at(kOptimizerRole), what(kOptimizerRole),
                               had_gan && step_->has_gan());
}

absl::Status Trainer::LoadBlobs(const std::map<std::string, std::string>& blobs,
                                const std::function<std::string(const std::string&)>& what) {
  std::map<std::string, std::map<std::string, torch::Tensor>> roles;
  for (const auto& [role, bytes] : blobs) {
    FSC_ASSIGN_OR_RETURN(roles[role], ParseTensors(bytes, what(role)));
  }
  return LoadTensors(roles, what);
}

absl::Status Trainer::Commit() {
  // One restore point in memory at a time: the write in flight (which reads the previous one)
  // ends first, and the previous one goes before the copy is made.
  FSC_RETURN_IF_ERROR(WaitForSave());
  committed_.reset();
  committed_ =
      std::make_shared<const TrainingState>(CopyState(iteration_, loss_history_, LiveTensors()));
  return absl::OkStatus();
}

absl::Status Trainer::Rollback() {
  if (committed_ == nullptr) {
    return absl::FailedPreconditionError("no committed training state to roll back to");
  }
  std::map<std::string, std::map<std::string, torch::Tensor>> roles;
  for (const auto& [role, tensors] : committed_->roles) roles[role] = TensorMap(tensors);
  FSC_RETURN_IF_ERROR(LoadTensors(roles, [&](const std::string& role) {
    return absl::StrCat("the committed training state of iteration ", committed_->iteration, " (",
                        role, ")");
  }));
  iteration_ = committed_->iteration;
  loss_history_ = committed_->loss_history;
  return ResetLoader(iteration_);
}

absl::Status Trainer::Adopt(TrainingState state) {
  FSC_RETURN_IF_ERROR(WaitForSave());
  committed_.reset();  // one restore point in memory at a time
  committed_ = std::make_shared<const TrainingState>(std::move(state));
  return Rollback();
}

absl::Status Trainer::RestoreLastCheckpoint() {
  if (!HasCheckpoint(options_.model_dir)) {
    return absl::NotFoundError(
        absl::StrCat(options_.model_dir, " holds no checkpoint to go back to"));
  }
  FSC_RETURN_IF_ERROR(WaitForSave());
  FSC_ASSIGN_OR_RETURN(LoadedCheckpoint checkpoint, ReadCheckpoint(options_.model_dir));
  const CheckpointManifest& m = checkpoint.manifest;
  FSC_RETURN_IF_ERROR(LoadBlobs(checkpoint.blobs, [&](const std::string& role) {
    return options_.model_dir + "/" + m.files.at(role).name;
  }));
  iteration_ = m.iteration;
  saved_iteration_ = m.iteration;
  loss_history_ = m.loss_history;
  return ResetLoader(m.next_batch);
}

absl::StatusOr<std::unique_ptr<Trainer>> Trainer::Create(const TrainOptions& options) {
  if (options.model_dir.empty()) {
    return absl::InvalidArgumentError("no model folder (-m DIR) to write the model to");
  }
  if (HasCheckpoint(options.model_dir)) {
    return absl::FailedPreconditionError(
        absl::StrCat(options.model_dir, " already holds a trained model (", util::kManifestFile,
                     "); pass --resume ", options.model_dir,
                     " to continue training it, or choose another model folder"));
  }
  return Build(options, 0);
}

absl::StatusOr<TrainOptions> Trainer::LoadOptions(const std::string& dir) {
  FSC_ASSIGN_OR_RETURN(LoadedCheckpoint checkpoint, ReadCheckpoint(dir));
  TrainOptions options;
  FSC_RETURN_IF_ERROR(TrainOptionsFromJson(checkpoint.manifest.config, &options));
  options.model_dir = dir;
  return options;
}

absl::StatusOr<std::unique_ptr<Trainer>> Trainer::Resume(const std::string& dir,
                                                         const TrainOptions& options) {
  FSC_ASSIGN_OR_RETURN(LoadedCheckpoint checkpoint, ReadCheckpoint(dir));
  const CheckpointManifest& m = checkpoint.manifest;
  const std::string manifest_path = dir + "/" + util::kManifestFile;
  model::Architecture arch;
  if (options.architecture) {
    arch = *options.architecture;
  } else {
    FSC_ASSIGN_OR_RETURN(arch, model::FindArchitecture(options.model));
  }
  if (m.model != arch.name || !SameArchitecture(m.architecture, arch)) {
    return absl::FailedPreconditionError(absl::StrCat(
        manifest_path, " is a checkpoint of model \"", m.model, "\" (its architecture), not of \"",
        arch.name, "\"; resume it with --model ", m.model, " or train a new model folder"));
  }
  if (m.model_options.learn_mask != options.learn_mask) {
    return absl::FailedPreconditionError(
        absl::StrCat(manifest_path, " was trained ",
                     m.model_options.learn_mask ? "with" : "without", " a learned mask; resume it ",
                     m.model_options.learn_mask ? "with" : "without", " --learn-mask"));
  }
  FSC_ASSIGN_OR_RETURN(std::unique_ptr<Trainer> t, Build(options, m.next_batch));
  if (checkpoint.blobs.count(kOptimizerRole) == 0) {
    return absl::DataLossError(absl::StrCat(manifest_path, " names no optimizer state file"));
  }
  const auto file = [&](const std::string& role) { return dir + "/" + m.files.at(role).name; };
  FSC_RETURN_IF_ERROR(t->LoadBlobs(checkpoint.blobs, file));
  t->iteration_ = m.iteration;
  t->saved_iteration_ = dir == options.model_dir ? m.iteration : -1;
  t->loss_history_ = m.loss_history;
  return t;
}

absl::StatusOr<StepLosses> Trainer::Step() {
  FSC_ASSIGN_OR_RETURN(Batch a, loader_->Next(Side::kA));
  FSC_ASSIGN_OR_RETURN(Batch b, loader_->Next(Side::kB));
  FSC_ASSIGN_OR_RETURN(StepLosses losses, step_->Run(a, b));
  ++iteration_;
  return losses;
}

CheckpointManifest Trainer::Manifest(int64_t iteration, const nlohmann::json& loss_history) const {
  CheckpointManifest m;
  const model::FaceSwapModel& model = step_->model();
  m.model = model.name();
  m.architecture = model.architecture();
  m.model_options = model.options();
  m.config = TrainOptionsToJson(options_);
  m.iteration = iteration;
  m.next_batch = iteration;  // batch k feeds iteration k + 1
  m.loss_history = loss_history;
  return m;
}

absl::Status Trainer::WriteState(const CheckpointManifest& manifest,
                                 const std::map<std::string, NamedTensors>& roles) const {
  const Clock::time_point save_start = Clock::now();  // for fsc_checkpoint_seconds
  std::map<std::string, std::string> blobs;
  for (const auto& [role, tensors] : roles) {
    FSC_ASSIGN_OR_RETURN(blobs[role], SerializeTensors(tensors));
  }
  CheckpointWriteOptions write;
  write.keep_snapshots = options_.keep_snapshots;
  write.snapshot =
      options_.snapshot_every == 0 || manifest.iteration % options_.snapshot_every == 0;
  FSC_RETURN_IF_ERROR(WriteCheckpoint(options_.model_dir, manifest, blobs, write).status());
  RecordCheckpoint(Since(save_start), blobs);
  return absl::OkStatus();
}

absl::Status Trainer::Save() {
  if (!options_.write_checkpoints) return absl::OkStatus();
  FSC_RETURN_IF_ERROR(WaitForSave());
  FSC_RETURN_IF_ERROR(WriteState(Manifest(iteration_, loss_history_), LiveTensors()));
  saved_iteration_ = iteration_;
  return absl::OkStatus();
}

absl::Status Trainer::SaveCommitted() {
  if (committed_ == nullptr) {
    return absl::FailedPreconditionError("no committed training state to save");
  }
  FSC_RETURN_IF_ERROR(WaitForSave());
  if (!options_.write_checkpoints) return absl::OkStatus();
  std::shared_ptr<const TrainingState> state = committed_;
  CheckpointManifest manifest = Manifest(state->iteration, state->loss_history);
  pending_save_ = std::async(std::launch::async, [this, state, manifest] {
    // The write runs beside training steps (and, after a rollback, beside a new generation's
    // first step): on a busy machine it takes the CPU the steps leave, not half of it. Linux
    // gives each thread its own nice value; failing to set it changes nothing but the speed.
    setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), kBackgroundWriteNice);
    return WriteState(manifest, state->roles);
  });
  saved_iteration_ = state->iteration;
  return absl::OkStatus();
}

absl::Status Trainer::WaitForSave() {
  if (!pending_save_.valid()) return absl::OkStatus();
  return pending_save_.get();
}

void Trainer::RecordInterval(const IntervalReport& report) {
  loss_history_.push_back(IntervalToJson(report, step_->has_gan(), step_->model().learn_mask()));
}

absl::Status Trainer::WritePreview() {
  if (!options_.write_checkpoints) return absl::OkStatus();
  FSC_ASSIGN_OR_RETURN(cv::Mat grid, RenderPreview(*step_, preview_a_, preview_b_));
  FSC_RETURN_IF_ERROR(WritePng(grid, options_.model_dir + "/preview.png"));
  if (options_.timelapse) {
    FSC_RETURN_IF_ERROR(WritePng(
        grid, absl::StrFormat("%s/timelapse/preview_%06d.png", options_.model_dir, iteration_)));
  }
  return absl::OkStatus();
}

absl::StatusOr<RunSummary> Trainer::Run(const TrainCallbacks& callbacks) {
  RunSummary summary;
  summary.start_iteration = iteration_;
  const auto event = [&](const std::string& text) {
    if (callbacks.on_event) callbacks.on_event(text);
  };
  const Clock::time_point start = Clock::now();
  Clock::time_point interval_start = start;
  StepLosses interval_sum;
  int64_t interval_steps = 0;
  const int64_t examples_per_step = 2LL * options_.batch_size;
  absl::Status failure;
  // One process: the whole step is compute (RunElastic splits off the all-reduce wait).
  prometheus::Histogram& compute_seconds =
      metrics::Standard().train_step_seconds.WithLabels({"compute"});
  while (iteration_ < options_.iterations) {
    if (callbacks.should_stop && callbacks.should_stop()) {
      summary.stopped = true;
      break;
    }
    const Clock::time_point step_start = Clock::now();
    absl::StatusOr<StepLosses> losses = Step();
    compute_seconds.Observe(std::chrono::duration<double>(Clock::now() - step_start).count());
    if (!losses.ok()) {
      failure = losses.status();
      break;
    }
    summary.losses.push_back(*losses);
    if (callbacks.on_step) callbacks.on_step(iteration_, *losses);
    AddLosses(*losses, &interval_sum);
    ++interval_steps;
    if (iteration_ % options_.log_every == 0 || iteration_ == options_.iterations) {
      IntervalReport report;
      report.iteration = iteration_;
      report.iterations = interval_steps;
      report.seconds = Since(interval_start);
      report.losses = DivideLosses(interval_sum, static_cast<double>(interval_steps));
      report.examples_per_sec =
          report.seconds > 0 ? interval_steps * examples_per_step / report.seconds : 0;
      loss_history_.push_back(
          IntervalToJson(report, step_->has_gan(), step_->model().learn_mask()));
      if (callbacks.on_interval) callbacks.on_interval(report);
      interval_sum = StepLosses();
      interval_steps = 0;
      interval_start = Clock::now();
    }
    if (iteration_ % options_.save_every == 0) {
      FSC_RETURN_IF_ERROR(Save());
      event(absl::StrCat("saved iteration ", iteration_, " to ", options_.model_dir));
    }
    if (options_.preview_every > 0 && iteration_ % options_.preview_every == 0) {
      FSC_RETURN_IF_ERROR(WritePreview());
    }
  }
  summary.seconds = Since(start);
  summary.end_iteration = iteration_;
  const int64_t steps = summary.end_iteration - summary.start_iteration;
  summary.examples_per_sec = summary.seconds > 0 ? steps * examples_per_step / summary.seconds : 0;
  summary.loader = loader_->stats();
  // Keep what was reached, also when stopped or failed part-way.
  if (saved_iteration_ != iteration_) {
    FSC_RETURN_IF_ERROR(Save());
    event(absl::StrCat("saved iteration ", iteration_, " to ", options_.model_dir));
  }
  if (options_.preview_every > 0 && steps > 0 && iteration_ % options_.preview_every != 0) {
    FSC_RETURN_IF_ERROR(WritePreview());
  }
  if (!failure.ok()) return failure;
  return summary;
}

}  // namespace fsc::train
