// fsc-worker's main loop: register, heartbeat the held leases, long-poll for a task of this
// worker's roles, run it in-process (task_runner.h), and again, until Stop(). Survives
// coordinator restarts (calls retry with backoff; the same worker id re-registers and keeps
// heartbeating its task, whose completion the coordinator still accepts).
//
//   Worker worker(options);
//   std::thread t([&] { status = worker.Run(); });
//   ... worker.Stop();  // e.g. on SIGTERM: the current task is failed as retryable, then Run
//   returns
#ifndef FSC_WORKER_WORKER_H_
#define FSC_WORKER_WORKER_H_

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "worker/session.h"
#include "worker/task_runner.h"

namespace fsc::worker {

struct WorkerOptions {
  SessionOptions session;
  std::string cache_dir;   // blob cache (shared across tasks and restarts)
  std::string work_dir;    // task folders
  std::string models_dir;  // pretrained face models
  int threads = 1;
  std::chrono::milliseconds lease_wait{10000};  // long-poll length
  bool keep_task_dirs = false;                  // for debugging
  int64_t max_tasks = 0;                        // stop after this many tasks (0: never)
  // Multi-rank training: the address Gloo binds (empty: the one toward the coordinator), the
  // bound on one collective, how often the group's membership is polled.
  std::string data_plane_address;
  double collective_timeout_s = 30;
  dist::Recovery elastic_recovery = dist::Recovery::kInMemory;
  std::chrono::milliseconds rendezvous_poll{250};
};

class Worker {
 public:
  explicit Worker(WorkerOptions options);
  ~Worker();

  // Runs until Stop() (OK) or a permanent error such as a refused join token.
  absl::Status Run();
  // Asks Run to return: an idle worker returns at once; a running task is stopped, failed as
  // retryable ("worker shutting down") and its folder removed. Thread-safe, callable any time.
  void Stop();

 private:
  void HeartbeatLoop();

  WorkerOptions options_;
  std::unique_ptr<Session> session_;
  std::unique_ptr<TaskRunner> runner_;
  std::atomic<bool> stop_{false};
  std::thread heartbeat_;

  absl::Mutex mu_;
  grpc::ClientContext* lease_call_ ABSL_GUARDED_BY(mu_) = nullptr;  // to cancel the long-poll
};

}  // namespace fsc::worker

#endif  // FSC_WORKER_WORKER_H_
