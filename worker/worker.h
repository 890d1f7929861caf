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
  TaskRunnerOptions tasks;                      // where and how the leased tasks run
  std::chrono::milliseconds lease_wait{10000};  // how long one request for a task may wait
  int64_t max_tasks = 0;                        // stop after this many tasks (0: never)
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
