// The training engine behind `fsc train`: face sets, the background batch loader, the training
// step (train_step.h), checkpoints (checkpoint.h), previews (preview.h) and the loop that ties
// them together with logging.
//
//   auto trainer = Trainer::Create(options);        // a fresh model in options.model_dir
//   auto trainer = Trainer::Resume(dir, options);   // continue the checkpoint in dir
//   trainer->Run(callbacks);                        // to options.iterations, saving as it goes
//
// Determinism: the model's weights come from the seed, the loader's batch k is a function of
// (seed, k) (batch_loader.h), the optimiser is elementwise (adam.h) and a checkpoint stores
// weights, optimiser state and the loader position (k = the iteration). So with the same seed
// and thread count (and options.deterministic), a run of N iterations resumed to N + M gives
// bit for bit the weights of an uninterrupted N + M run.
//
// Data-parallel runs (core/dist/elastic.h) reuse this class: options.batch_size is the GLOBAL
// batch per side, and rank r of w trains on rows [r·B/w, (r+1)·B/w) of every global batch
// (batch_loader.h), so the samples of a step are the same whatever the world size;
// options.gradient_hook all-reduces gradients between backward and the optimiser step.
// SetDataParallel changes rank, world and hook of a live trainer (the loader is re-sharded at
// the current iteration). Commit / Rollback / Adopt keep a restore point in memory (Horovod
// elastic's commit/restore): the group's members roll back to it after a failed step without
// reading the disk, compare it by digest and move it only to a member that lacks it
// (training_state.h); SaveCommitted writes it to the model folder in the background.
// RestoreLastCheckpoint goes back to the disk checkpoint (the fallback).
#ifndef FSC_CORE_TRAIN_TRAINER_H_
#define FSC_CORE_TRAIN_TRAINER_H_

#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/train/batch_loader.h"
#include "core/train/face_set.h"
#include "core/train/train_options.h"
#include "core/train/train_step.h"
#include "core/train/training_state.h"

namespace fsc::train {

// Means over one logging interval.
struct IntervalReport {
  int64_t iteration = 0;  // the last iteration of the interval
  int64_t iterations = 0;
  StepLosses losses;            // means
  double examples_per_sec = 0;  // both sides' samples per second of wall time
  double seconds = 0;
};

struct TrainCallbacks {
  std::function<void(int64_t iteration, const StepLosses&)> on_step;
  std::function<void(const IntervalReport&)> on_interval;
  std::function<void(const std::string& message)> on_event;  // "saved ...", "preview ..."
  std::function<bool()> should_stop;  // polled between steps; true: save and return
};

struct RunSummary {
  int64_t start_iteration = 0;
  int64_t end_iteration = 0;
  double seconds = 0;
  double examples_per_sec = 0;
  std::vector<StepLosses> losses;  // every step of this run, in order
  LoaderStats loader;
  bool stopped = false;  // should_stop ended the run early

  // Data-parallel runs (dist::RunElastic); a single-process run leaves the defaults.
  struct Dist {
    bool final_rank0 = true;  // rank 0 of the last generation: its model is the job's output
    int final_world_size = 1;
    int64_t generations = 0;            // generations this process trained in
    double compute_seconds = 0;         // forward + backward + optimiser, this rank
    double allreduce_wait_seconds = 0;  // time blocked on all-reduce after backward (not hidden)
    double allreduce_seconds = 0;       // time the all-reduces took on the communication thread
    int64_t allreduce_bytes = 0;        // gradient bytes all-reduced by this rank
    int64_t state_bytes_sent = 0;       // training state sent to members that lacked it
    int64_t state_bytes_received = 0;   // training state this rank lacked and received
  } dist;
};

class Trainer {
 public:
  // A new model in options.model_dir. FAILED_PRECONDITION when that folder already holds a
  // checkpoint (pass --resume or choose another folder); NOT_FOUND / FAILED_PRECONDITION /
  // DATA_LOSS from loading the face sets (naming the folder or file); INVALID_ARGUMENT for bad
  // options or too few faces for a batch.
  static absl::StatusOr<std::unique_ptr<Trainer>> Create(const TrainOptions& options);

  // The options stored in the checkpoint in `dir` (with model_dir = dir): the starting point of
  // a resume, before the caller applies what the user changed.
  static absl::StatusOr<TrainOptions> LoadOptions(const std::string& dir);

  // Continues the checkpoint in `dir` (a model folder or one of its snapshots), writing new
  // checkpoints to options.model_dir. The checkpoint must be of the same model, architecture and
  // learn_mask setting (FAILED_PRECONDITION naming the manifest otherwise); truncated or
  // corrupted files are DATA_LOSS (checkpoint.h). Nothing is ever silently re-initialised.
  static absl::StatusOr<std::unique_ptr<Trainer>> Resume(const std::string& dir,
                                                         const TrainOptions& options);

  ~Trainer();

  // One iteration: the next batch of each side through TrainStep::Run.
  absl::StatusOr<StepLosses> Step();
  // Writes a checkpoint of the current state (a snapshot too at snapshot_every).
  absl::Status Save();
  // Renders the preview grid to model_dir/preview.png (and timelapse/ with options.timelapse).
  absl::Status WritePreview();
  // Steps to options.iterations, logging each log_every, saving each save_every, previewing each
  // preview_every, and saves at the end (also when stopped early or on an error in a step,
  // where the last good state is kept).
  absl::StatusOr<RunSummary> Run(const TrainCallbacks& callbacks = {});

  // Makes this trainer rank `rank` of `world_size` with `hook` (empty: none): the loader is
  // re-sharded so that the next batch is this rank's rows of global batch iteration().
  // INVALID_ARGUMENT when the global batch has fewer rows than ranks.
  absl::Status SetDataParallel(int rank, int world_size, GradientHook hook);
  // Commit copies the live state (weights, optimiser and discriminator state, iteration, loss
  // history) into memory: the restore point. Rollback makes it live again (the loader re-sharded
  // at its iteration) without the disk. Adopt makes `state` (received from another rank, its
  // digest checked by the caller: StateHasher) the restore point and rolls back to it;
  // FAILED_PRECONDITION when it is another model's (the trainer must not be used then).
  // Rollback without a Commit before: FAILED_PRECONDITION.
  absl::Status Commit();
  absl::Status Rollback();
  absl::Status Adopt(TrainingState state);
  // The restore point (null before the first Commit).
  const TrainingState* committed() const { return committed_.get(); }
  // Writes the restore point to options().model_dir as a checkpoint on a thread of its own, so
  // that training goes on meanwhile; first waits for the previous such write and returns its
  // error. WaitForSave waits for the write in flight (OK when none).
  absl::Status SaveCommitted();
  absl::Status WaitForSave();
  // Back to the checkpoint in options().model_dir (the state of the last Save); NOT_FOUND when
  // there is none yet. The disk fallback of Rollback (a restarted process has no restore point).
  absl::Status RestoreLastCheckpoint();

  int64_t iteration() const { return iteration_; }
  int64_t saved_iteration() const { return saved_iteration_; }
  // Rows of each side's batch this rank trains on (the whole batch_size in a 1-rank run).
  int64_t shard_rows() const { return loader_->rows(); }
  const TrainOptions& options() const { return options_; }
  TrainStep& step() { return *step_; }
  LoaderStats loader_stats() const { return loader_->stats(); }
  int64_t faces(Side side) const { return loader_->num_faces(side); }
  // Appends an interval's means to the loss history (what Run does each log_every; for loops
  // outside Run, such as dist::RunElastic).
  void RecordInterval(const IntervalReport& report);
  // Interval means kept in the manifest: [{"iteration", "loss_a", "loss_b", ...}, ...].
  const nlohmann::json& loss_history() const { return loss_history_; }

 private:
  Trainer() = default;
  static absl::StatusOr<std::unique_ptr<Trainer>> Build(const TrainOptions& options,
                                                        int64_t first_batch);
  // (Re)creates the loader for options_'s rank and world, starting at batch `first_batch`.
  absl::Status ResetLoader(int64_t first_batch);
  // The live tensors by checkpoint role (checkpoint.h).
  std::map<std::string, NamedTensors> LiveTensors() const;
  // Loads tensors by role into the live model and optimisers; `what(role)` names a role's
  // source in messages (its file).
  absl::Status LoadTensors(const std::map<std::string, std::map<std::string, torch::Tensor>>& roles,
                           const std::function<std::string(const std::string&)>& what);
  // Parses a checkpoint's payloads and loads them (as Resume and RestoreLastCheckpoint do).
  absl::Status LoadBlobs(const std::map<std::string, std::string>& blobs,
                         const std::function<std::string(const std::string&)>& what);
  // The manifest of a checkpoint of `iteration` (everything but its files).
  CheckpointManifest Manifest(int64_t iteration, const nlohmann::json& loss_history) const;
  // Serialises `roles` and writes them as the checkpoint of `manifest` (any thread).
  absl::Status WriteState(const CheckpointManifest& manifest,
                          const std::map<std::string, NamedTensors>& roles) const;

  TrainOptions options_;
  std::shared_ptr<const PreparedFaces> prepared_a_, prepared_b_;  // made once, in Build
  std::unique_ptr<TrainStep> step_;
  BatchLoaderOptions loader_options_;  // first_batch, rank and world set by ResetLoader
  std::unique_ptr<BatchLoader> loader_;
  Batch preview_a_, preview_b_;
  int64_t iteration_ = 0;
  int64_t saved_iteration_ = -1;
  nlohmann::json loss_history_ = nlohmann::json::array();
  std::shared_ptr<const TrainingState> committed_;
  std::future<absl::Status> pending_save_;  // SaveCommitted's write in flight
};

// A JSON object of one interval report (for logs and --json output).
nlohmann::json IntervalToJson(const IntervalReport& report, bool gan, bool mask);

}  // namespace fsc::train

#endif  // FSC_CORE_TRAIN_TRAINER_H_
