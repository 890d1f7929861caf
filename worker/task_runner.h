// Runs one leased task end to end: materialises Task.inputs from the blob cache into a task
// folder, runs the task kind's function (extract_task.h, merge_alignments_task.h, train_task.h,
// convert_task.h, merge_video_task.h) with progress reports rate-limited to 2 per second,
// uploads what it wrote and completes the task, or fails it (retryable or not, see
// task_env.h). Knows which task it runs so that the heartbeat can renew its lease and cancel it.
#ifndef FSC_WORKER_TASK_RUNNER_H_
#define FSC_WORKER_TASK_RUNNER_H_

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "core/rpc/transfer.h"
#include "proto/fsc.pb.h"
#include "worker/session.h"
#include "worker/task_env.h"

namespace fsc::worker {

// Runs a task kind's function on prepared folders (no network): the part both the runner and the
// tests use. UNIMPLEMENTED for a kind this build cannot run.
absl::Status RunTaskKind(const proto::Task& task, const TaskEnv& env);

// Whether this build can run tasks of `kind`.
bool CanRun(proto::TaskKind kind);

struct TaskRunnerOptions {
  std::string cache_dir;   // blob cache (shared across tasks and restarts)
  std::string work_dir;    // task folders
  std::string models_dir;  // pretrained face models
  int threads = 1;
  bool keep_task_dirs = false;  // for debugging
  // Multi-rank training (see task_env.h): the address Gloo binds (empty: the one toward the
  // coordinator), the bound on one collective, how often the group's membership is polled.
  std::string data_plane_address;
  double collective_timeout_s = 30;
  dist::Recovery elastic_recovery = dist::Recovery::kInMemory;
  std::chrono::milliseconds rendezvous_poll{250};
};

class TaskRunner {
 public:
  TaskRunner(TaskRunnerOptions options, Session* session, const std::atomic<bool>* stop);

  // Runs `task` to its end (completed, failed or cancelled). Returns OK when the coordinator got
  // the outcome (complete or fail), the error otherwise.
  absl::Status Execute(const proto::Task& task);

  // The ids of tasks being run (for heartbeats).
  std::vector<std::string> HeldTasks();
  // Stops the task with this id (the coordinator cancelled it or its lease is gone).
  void Cancel(const std::string& task_id);

 private:
  absl::Status Materialize(const proto::Task& task, const std::string& in_dir);
  absl::StatusOr<std::vector<proto::FileEntry>> Upload(const std::string& out_dir);

  TaskRunnerOptions options_;
  Session* session_;
  const std::atomic<bool>* stop_;
  rpc::BlobCache cache_;

  absl::Mutex mu_;
  std::string current_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> cancelled_{false};
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;  // the outcome is being reported
};

}  // namespace fsc::worker

#endif  // FSC_WORKER_TASK_RUNNER_H_
