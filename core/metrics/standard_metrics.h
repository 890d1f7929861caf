// The cluster's metric families, defined once so that the coordinator, every worker and every
// trainer rank export the same names, help texts, labels and buckets (Grafana dashboards and
// alerts depend on them). Names follow Prometheus conventions: base units (seconds, bytes) in
// the name, counters end in _total.
//
// Coordinator (computed at scrape time by coordinator/metrics.h's collector)
//   fsc_jobs{state}                        gauge      jobs in the store by state (queued,
//                                                     running, succeeded, failed, cancelled)
//   fsc_queue_depth                        gauge      tasks waiting for a worker
//   fsc_workers{role,state}                gauge      registered workers by role (extract,
//                                                     convert, train) and state (idle, busy, lost)
// Coordinator (DefaultRegistry())
//   fsc_lease_expiries_total               counter    task leases that expired (task requeued)
//   fsc_rpc_duration_seconds{method,code}  histogram  time to answer a gRPC call (any server)
// Training (every rank)
//   fsc_train_iteration                    gauge      last completed iteration
//   fsc_train_examples_per_second{rank}    gauge      faces of both sides per second, last
//                                                     logging interval
//   fsc_train_loss{side}                   gauge      reconstruction loss of the last step (a, b)
//   fsc_train_mask_loss{side}              gauge      learned mask's loss of the last step
//   fsc_train_gan_loss{side,net}           gauge      adversarial loss of the last step, net =
//                                                     generator | discriminator
//   fsc_train_step_seconds{phase}          histogram  step time by phase (compute, allreduce)
//   fsc_allreduce_bytes_total              counter    gradient bytes all-reduced by this rank
//   fsc_checkpoint_seconds                 histogram  time to write a checkpoint
//   fsc_checkpoint_bytes                   gauge      size of the last checkpoint written
// Extract / convert workers
//   fsc_extract_frames_total               counter    frames decoded by extraction
//   fsc_extract_faces_total                counter    aligned faces written by extraction
//   fsc_convert_frames_total               counter    frames written by conversion
//   fsc_convert_faces_total                counter    faces swapped by conversion
//   fsc_frames_per_second{stage}           gauge      frames per second by stage (extract,
//                                                     convert) of the task running now (0 idle)
// Any process with a GPU (computed at scrape time, core/metrics/gpu_memory.h)
//   fsc_gpu_memory_bytes{device}           gauge      memory in use on a GPU this process uses
//
// Plus the process_* metrics of core/metrics/process_metrics.h.
#ifndef FSC_CORE_METRICS_STANDARD_METRICS_H_
#define FSC_CORE_METRICS_STANDARD_METRICS_H_

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "absl/status/statusor.h"
#include "core/metrics/exposition.h"

namespace fsc::metrics {

// Name and help of a family whose values a collector computes at scrape time.
struct FamilyName {
  const char* name;
  const char* help;
};
inline constexpr FamilyName kJobs = {"fsc_jobs", "Jobs in the coordinator's store by state."};
inline constexpr FamilyName kQueueDepth = {"fsc_queue_depth", "Tasks waiting for a worker."};
inline constexpr FamilyName kWorkers = {"fsc_workers", "Registered workers by role and state."};
inline constexpr FamilyName kGpuMemoryBytes = {"fsc_gpu_memory_bytes",
                                               "Memory in use on each GPU this process works on."};

// The registry families above; unlabelled metrics are given as their single child.
struct StandardMetrics {
  prometheus::Counter* lease_expiries = nullptr;
  Labeled<prometheus::Histogram> rpc_duration_seconds;  // method, code

  prometheus::Gauge* train_iteration = nullptr;
  Labeled<prometheus::Gauge> train_examples_per_second;  // rank
  Labeled<prometheus::Gauge> train_loss;                 // side
  Labeled<prometheus::Gauge> train_mask_loss;            // side
  Labeled<prometheus::Gauge> train_gan_loss;             // side, net
  Labeled<prometheus::Histogram> train_step_seconds;     // phase
  prometheus::Counter* allreduce_bytes = nullptr;
  prometheus::Histogram* checkpoint_seconds = nullptr;
  prometheus::Gauge* checkpoint_bytes = nullptr;

  prometheus::Counter* extract_frames = nullptr;
  prometheus::Counter* extract_faces = nullptr;
  prometheus::Counter* convert_frames = nullptr;
  prometheus::Counter* convert_faces = nullptr;
  Labeled<prometheus::Gauge> frames_per_second;  // stage
};

// Registers every family above in `registry` (again: the same families).
absl::StatusOr<StandardMetrics> RegisterStandardMetrics(prometheus::Registry* registry);

// The families in DefaultRegistry(), registered on first use. A clash with a different
// definition registered earlier under one of these names is a programming error: it aborts.
const StandardMetrics& Standard();

}  // namespace fsc::metrics

#endif  // FSC_CORE_METRICS_STANDARD_METRICS_H_
