// The coordinator's brain: jobs, tasks, workers and leases on top of the Store.
//
//   - Submit plans a job (planner.h) and stores it with all its tasks in one transaction.
//   - LeaseTask hands a worker the next ready task it has the role for: highest priority first,
//     FIFO (job submission order, then task order) within a priority, only tasks whose
//     dependencies all succeeded. Its inputs are resolved then (task_inputs.h), the lease runs
//     for lease_ttl_ms and is renewed by heartbeats. Waiting (long-poll) is woken by any change
//     that may make a task ready.
//   - A lease that expires (the sweeper thread) or a retryable failure puts the task back to
//     pending; attempt counts leases, and after max_attempts the task fails and so does its job,
//     with the task's error. A non-retryable failure fails the job at once.
//   - A multi-rank train stage (planner.h TrainSlots > 1) is one group of rank-slot tasks
//     (train_groups.h): TrainGroupOf says who is in which generation. A slot whose worker is
//     lost goes back to pending like any task (a new trainer may take it and join); a slot out
//     of attempts is retired while other slots of the stage are still live. Once a member
//     completes, nobody joins any more (pending slots are retired). When a slot completes with
//     the model (the final generation's rank 0), the stage is over: the other slots are
//     retired (succeeded without outputs; members completing later are acknowledged),
//     and tasks reading the stage's model get it from that slot whichever slot they name.
//   - Job state rolls up from its tasks (queued -> running -> succeeded/failed/cancelled); the
//     job's artifacts are the outputs of its final tasks. Every change appends a JobEvent and
//     logs one line to stderr.
//   - Limits (SchedulerOptions): tasks per job (the planner refuses rather than widening frame
//     ranges), jobs queued or running per user, bytes of datasets per user.
//   - Blobs nothing references are collected after a dataset is removed and periodically.
// Everything is decided inside Store transactions, so a kill -9 loses nothing that was
// acknowledged; worker liveness (last heartbeat) and uploads in progress are the only in-memory
// state.
#ifndef FSC_COORDINATOR_SCHEDULER_H_
#define FSC_COORDINATOR_SCHEDULER_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "coordinator/blob_store.h"
#include "coordinator/planner.h"
#include "coordinator/store.h"
#include "coordinator/train_groups.h"
#include "proto/fsc.pb.h"

namespace fsc::coordinator {

struct SchedulerOptions {
  int64_t lease_ttl_ms = 30000;
  int64_t heartbeat_ms = 5000;
  int max_attempts = 3;
  int default_frames_per_task = kDefaultFramesPerTask;
  bool log_to_stderr = true;

  // What one user may cost the cluster (RESOURCE_EXHAUSTED beyond it, naming the limit).
  int max_tasks_per_job = kDefaultMaxTasksPerJob;
  int max_jobs_per_user = 20;                       // queued or running at once
  int64_t max_bytes_per_user = int64_t{100} << 30;  // datasets stored or being uploaded
  // Blob collection: a blob nothing references is removed once it is older than the grace (an
  // upload whose record is not stored yet is younger), by the sweeper every interval and after
  // every dataset removal (which frees the removed dataset's own files at once).
  int64_t blob_grace_ms = 3600 * 1000;
  int64_t blob_gc_interval_ms = 3600 * 1000;
};

class Scheduler {
 public:
  // `blobs` holds the datasets' and tasks' files: completed outputs are checked against it, and
  // blobs nothing references are collected from it.
  Scheduler(Store* store, const BlobStore* blobs, SchedulerOptions options);
  ~Scheduler();

  // Starts the lease-expiry sweeper thread.
  void Start();
  // Wakes every waiter (long-polls, event streams) and stops the sweeper. Idempotent.
  void Shutdown();
  bool shutting_down() const { return shutdown_.load(); }
  const SchedulerOptions& options() const { return options_; }

  static int64_t NowMs();

  // --- client side ---------------------------------------------------------------------------
  absl::StatusOr<proto::Job> Submit(const std::string& owner, const proto::JobSpec& spec);
  // NOT_FOUND for an unknown job or one of another owner (their existence is not revealed).
  absl::StatusOr<proto::Job> GetJob(const std::string& owner, const std::string& job_id);
  // Jobs of `owner` (all owners when empty), newest first, without their tasks.
  absl::StatusOr<std::vector<proto::Job>> ListJobs(const std::string& owner, proto::JobState state,
                                                   int limit);
  // Cancels a queued or running job; FAILED_PRECONDITION for a job that already ended.
  absl::StatusOr<proto::Job> Cancel(const std::string& owner, const std::string& job_id);
  // Events after `after_sequence` (at most `limit`). When there are none and `wait_ms` > 0,
  // waits up to that long for one (or shutdown). `job_done` says whether the job has ended.
  absl::StatusOr<std::vector<proto::JobEvent>> Events(const std::string& job_id,
                                                      int64_t after_sequence, int limit,
                                                      int64_t wait_ms, bool* job_done);
  // Workers and queue depth, with the jobs (counts, workers' task ids) of `owner` only; every
  // owner's when empty (metrics).
  absl::StatusOr<proto::ClusterStatusResponse> ClusterStatus(const std::string& owner);

  // --- datasets ------------------------------------------------------------------------------
  // Removes `owner`'s dataset (FAILED_PRECONDITION while a queued or running job of theirs reads
  // it; NOT_FOUND when they have none such), then collects the blobs nothing references: its own
  // files at once (unless written again since it was stored), older ones after the grace.
  absl::StatusOr<proto::DeleteDatasetResponse> DeleteDataset(const std::string& owner,
                                                             const std::string& dataset_id);
  // Removes blobs nothing references (see SchedulerOptions::blob_grace_ms and
  // ReleasedBlobs).
  absl::StatusOr<BlobStore::Collected> CollectBlobs(const ReleasedBlobs& released = {});

  // Bytes of an upload in progress, counted against its owner's max_bytes_per_user until the
  // reservation is destroyed (the dataset's record is stored by then).
  class UploadReservation {
   public:
    UploadReservation(Scheduler* scheduler, std::string owner, int64_t bytes)
        : scheduler_(scheduler), owner_(std::move(owner)), bytes_(bytes) {}
    ~UploadReservation();
    UploadReservation(const UploadReservation&) = delete;
    UploadReservation& operator=(const UploadReservation&) = delete;

   private:
    Scheduler* scheduler_;
    std::string owner_;
    int64_t bytes_;
  };
  // RESOURCE_EXHAUSTED when `owner`'s datasets, their uploads in progress and `header`'s files
  // would pass max_bytes_per_user (content they already have counts once).
  absl::StatusOr<std::unique_ptr<UploadReservation>> ReserveUpload(
      const std::string& owner, const proto::DatasetHeader& header);

  // --- worker side ---------------------------------------------------------------------------
  // `request` is validated here (roles, name, ...); the join token was checked by the caller.
  // `join_hash`: the join token it registered with (its session ends with that token).
  absl::StatusOr<proto::RegisterResponse> Register(const proto::RegisterRequest& request,
                                                   const std::string& session_token,
                                                   const std::string& join_hash = "");
  absl::StatusOr<proto::HeartbeatResponse> Heartbeat(const std::string& worker_id,
                                                     const std::vector<std::string>& task_ids);
  // Leases a task, waiting up to `wait_ms` (long-poll; `cancelled` is polled to end early).
  absl::StatusOr<std::optional<proto::Task>> LeaseTask(const std::string& worker_id,
                                                       int64_t wait_ms,
                                                       const std::function<bool()>& cancelled);
  // Returns true when the worker should stop the task (cancelled, or lease lost).
  absl::StatusOr<bool> ReportProgress(const proto::ReportProgressRequest& request);
  absl::Status CompleteTask(const std::string& worker_id, const std::string& task_id,
                            const std::vector<proto::FileEntry>& outputs);
  absl::Status FailTask(const std::string& worker_id, const std::string& task_id,
                        const std::string& error, bool retryable);
  // Leased train tasks of a job, by task order: (worker id, attempt). For rendezvous.
  absl::StatusOr<std::vector<std::pair<std::string, int>>> TrainLeases(const std::string& job_id);
  // The current generation of the job's train stage (see train_groups.h); `broken` is a
  // generation the caller reports broken (0: none).
  absl::StatusOr<TrainGroup> TrainGroupOf(const std::string& job_id, int64_t broken = 0);
  bool WorkerAlive(const std::string& worker_id);

  // Expires the leases that ran out at `now_ms` (the sweeper calls this; tests may too).
  absl::Status ExpireLeases(int64_t now_ms);

 private:
  // Collected during a transaction, acted on after it commits.
  struct Effects {
    std::vector<std::string> logs;
    bool tasks_changed = false;
    bool events_changed = false;
  };
  absl::Status Emit(proto::JobEvent event, Effects* effects);
  absl::Status Log(const std::string& job_id, const std::string& task_id,
                   const std::string& message, Effects* effects);
  // Recomputes the job's state from its tasks; on failure cancels the remaining tasks.
  absl::Status RollUp(const std::string& job_id, Effects* effects);
  // A task's lease ends without success: back to pending, or failed when out of attempts or not
  // retryable (failing its job).
  absl::Status EndAttempt(TaskRecord* task, const std::string& error, bool retryable,
                          Effects* effects);
  absl::Status SetJobState(proto::Job* job, proto::JobState state, const std::string& error,
                           Effects* effects);
  // Cancels the job's pending and leased tasks (a failed or cancelled job runs nothing more).
  absl::Status CancelUnfinishedTasks(const std::string& job_id, Effects* effects);
  // Ends the other slots of `done`'s train stage once it finished: pending slots (and, when it
  // delivered the model, `leased_too`, the leased ones) become succeeded without outputs
  // ("retired").
  absl::Status RetireSlots(const TaskRecord& done, bool leased_too, Effects* effects);
  // Whether `task` is a slot of a multi-rank train stage.
  absl::StatusOr<bool> IsRankSlot(const proto::Task& task);
  // The planner's view of a dataset of `owner` (INVALID_ARGUMENT when they have none such), from
  // its file list and declared media: nothing is decoded here.
  absl::StatusOr<DatasetShape> Shape(const std::string& owner, const std::string& id, bool frames);
  absl::StatusOr<std::optional<proto::Task>> TryLease(const std::string& worker_id);
  absl::StatusOr<proto::Job> JobView(const proto::Job& job, bool with_tasks);
  void Publish(const Effects& effects);
  void SweeperLoop();

  Store* store_;
  const BlobStore* blobs_;
  SchedulerOptions options_;

  std::mutex mu_;  // guards the fields below (never held while calling the store)
  std::condition_variable tasks_cv_;
  std::condition_variable events_cv_;
  int64_t tasks_version_ = 0;
  int64_t events_version_ = 0;
  std::map<std::string, int64_t> last_heartbeat_ms_;
  std::map<std::string, int64_t> uploading_bytes_;  // by owner: uploads in progress
  std::condition_variable sweeper_cv_;

  TrainGroups groups_;

  std::atomic<bool> shutdown_{false};
  std::thread sweeper_;
};

}  // namespace fsc::coordinator

#endif  // FSC_COORDINATOR_SCHEDULER_H_
