// What every task kind gets from the worker and how it reports back. A task runs in-process
// against fsc_core: its inputs are already materialised under `in_dir` (paths as in
// Task.inputs), it writes its outputs under `out_dir` (every regular file there is uploaded with
// its path relative to out_dir), reports progress through `report` and polls `cancelled`.
//
// Task functions know nothing about gRPC, which keeps them testable on plain folders.
#ifndef FSC_WORKER_TASK_ENV_H_
#define FSC_WORKER_TASK_ENV_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "core/dist/recovery.h"
#include "proto/fsc.pb.h"

namespace fsc::dist {
class GroupDirectory;  // core/dist/elastic.h
}

namespace fsc::worker {

struct TaskProgress {
  double fraction = 0;  // 0..1 of this task
  double rate = 0;      // units per second
  std::string unit;     // "frames", "it", ...
  std::string message;  // an optional log line
};

struct TaskEnv {
  std::string in_dir;
  std::string out_dir;
  std::string scratch_dir;  // the task's own temporary files (not uploaded)
  std::string models_dir;   // pretrained face models (detectors, landmarks)
  int threads = 1;          // CPU threads the task may use
  // May be called often; the worker rate-limits what goes on the wire.
  std::function<void(const TaskProgress&)> report;
  // True once the task must stop (cancelled by the coordinator, lease lost, worker stopping).
  std::function<bool()> cancelled;
  // A train task's new preview image: a PNG file the task will not change again, showing
  // `iteration`. The worker uploads it and tells the coordinator with the next progress report
  // (`fsc preview`); a newer one replaces one not yet sent. Optional.
  std::function<void(const std::string& png, int64_t iteration)> preview;

  // Multi-rank training (TASK_TRAIN of a job with several rank slots): the job's group over the
  // coordinator (worker/rendezvous_client.h; unset where there is no coordinator), the address
  // this worker's data plane (Gloo) binds, and how long a collective may wait for a peer.
  std::function<std::unique_ptr<dist::GroupDirectory>(const std::string& job_id)> group;
  std::string data_plane_address;
  double collective_timeout_s = 30;
  dist::Recovery elastic_recovery = dist::Recovery::kInMemory;

  void Report(const TaskProgress& progress) const {
    if (report) report(progress);
  }
  bool Cancelled() const { return cancelled && cancelled(); }
  void ReportPreview(const std::string& png, int64_t iteration) const {
    if (preview) preview(png, iteration);
  }
};

// Whether a failure is worth another attempt: bad input (INVALID_ARGUMENT, FAILED_PRECONDITION,
// OUT_OF_RANGE, UNIMPLEMENTED, NOT_FOUND of an input) fails the job; anything else (I/O,
// resources, the network, internal errors) may succeed on another try or another worker.
bool IsRetryable(const absl::Status& status);

}  // namespace fsc::worker

#endif  // FSC_WORKER_TASK_ENV_H_
