// Registration of the cluster's metric families (see standard_metrics.h).
#include "core/metrics/standard_metrics.h"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace fsc::metrics {

// Assigns the family (or its single child) registered by `expr`, or returns the error.
#define FSC_METRIC_(target, expr)               \
  do {                                          \
    auto family_ = (expr);                      \
    if (!family_.ok()) return family_.status(); \
    target = *family_;                          \
  } while (0)
#define FSC_METRIC_CHILD_(target, expr)         \
  do {                                          \
    auto family_ = (expr);                      \
    if (!family_.ok()) return family_.status(); \
    target = &(*family_)->WithLabels();         \
  } while (0)

absl::StatusOr<StandardMetrics> RegisterStandardMetrics(Registry* r) {
  StandardMetrics m;
  FSC_METRIC_(m.jobs,
              r->AddGauge("fsc_jobs", "Jobs in the coordinator's store by state.", {"state"}));
  FSC_METRIC_CHILD_(m.queue_depth, r->AddGauge("fsc_queue_depth", "Tasks waiting for a worker."));
  FSC_METRIC_(m.workers, r->AddGauge("fsc_workers", "Registered workers by role and state.",
                                     {"role", "state"}));
  FSC_METRIC_CHILD_(m.lease_expiries,
                    r->AddCounter("fsc_lease_expiries_total",
                                  "Task leases that expired before their worker reported; the "
                                  "task went back to the queue."));
  FSC_METRIC_(m.rpc_duration_seconds,
              r->AddHistogram("fsc_rpc_duration_seconds",
                              "Time to answer a gRPC call by method and status code.",
                              {"method", "code"}, DefaultLatencyBuckets()));

  FSC_METRIC_CHILD_(m.train_iteration,
                    r->AddGauge("fsc_train_iteration", "The last completed training iteration."));
  FSC_METRIC_(m.train_examples_per_second,
              r->AddGauge("fsc_train_examples_per_second",
                          "Training throughput of a rank: faces of both sides per second of wall "
                          "time over the last logging interval.",
                          {"rank"}));
  FSC_METRIC_(m.train_loss,
              r->AddGauge("fsc_train_loss",
                          "Reconstruction loss of the last training step by side.", {"side"}));
  FSC_METRIC_(m.train_mask_loss,
              r->AddGauge("fsc_train_mask_loss",
                          "Loss of the learned mask in the last training step by side.", {"side"}));
  FSC_METRIC_(m.train_gan_loss,
              r->AddGauge("fsc_train_gan_loss",
                          "Adversarial loss of the last training step by side and network "
                          "(generator, discriminator).",
                          {"side", "net"}));
  FSC_METRIC_(m.train_step_seconds,
              r->AddHistogram("fsc_train_step_seconds",
                              "Time of one training step by phase (compute, allreduce).", {"phase"},
                              ExponentialBuckets(0.001, 2, 16)));
  FSC_METRIC_CHILD_(m.allreduce_bytes, r->AddCounter("fsc_allreduce_bytes_total",
                                                     "Gradient bytes all-reduced by this rank."));
  FSC_METRIC_CHILD_(m.checkpoint_seconds,
                    r->AddHistogram("fsc_checkpoint_seconds", "Time to write a checkpoint.", {},
                                    ExponentialBuckets(0.01, 4, 8)));
  FSC_METRIC_CHILD_(m.checkpoint_bytes,
                    r->AddGauge("fsc_checkpoint_bytes", "Size of the last checkpoint written."));

  FSC_METRIC_CHILD_(m.extract_frames,
                    r->AddCounter("fsc_extract_frames_total", "Frames decoded by extraction."));
  FSC_METRIC_CHILD_(m.extract_faces, r->AddCounter("fsc_extract_faces_total",
                                                   "Aligned faces written by extraction."));
  FSC_METRIC_CHILD_(m.convert_frames,
                    r->AddCounter("fsc_convert_frames_total", "Frames written by conversion."));
  FSC_METRIC_CHILD_(m.convert_faces,
                    r->AddCounter("fsc_convert_faces_total", "Faces swapped by conversion."));
  FSC_METRIC_(m.frames_per_second,
              r->AddGauge("fsc_frames_per_second",
                          "Frames per second by stage (extract, convert) of the task running now; "
                          "0 when idle.",
                          {"stage"}));
  FSC_METRIC_(m.gpu_memory_bytes,
              r->AddGauge("fsc_gpu_memory_bytes",
                          "Memory in use on each GPU this process works on.", {"device"}));
  return m;
}

#undef FSC_METRIC_
#undef FSC_METRIC_CHILD_

const StandardMetrics& Standard() {
  static const StandardMetrics* metrics = [] {
    absl::StatusOr<StandardMetrics> registered = RegisterStandardMetrics(&Registry::Default());
    if (!registered.ok()) {
      std::fprintf(stderr, "fatal: standard metrics: %s\n",
                   std::string(registered.status().message()).c_str());
      std::abort();
    }
    return new StandardMetrics(*registered);
  }();
  return *metrics;
}

}  // namespace fsc::metrics
