// Registration of the cluster's metric families (see standard_metrics.h).
#include "core/metrics/standard_metrics.h"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "absl/strings/str_cat.h"

namespace fsc::metrics {
namespace {

template <typename T>
prometheus::Family<T>& Register(prometheus::detail::Builder<T> builder, prometheus::Registry* r,
                                const char* name, const char* help) {
  return builder.Name(name).Help(help).Register(*r);
}

prometheus::Family<prometheus::Counter>& AddCounter(prometheus::Registry* r, const char* name,
                                                    const char* help) {
  return Register(prometheus::BuildCounter(), r, name, help);
}
prometheus::Family<prometheus::Gauge>& AddGauge(prometheus::Registry* r, const char* name,
                                                const char* help) {
  return Register(prometheus::BuildGauge(), r, name, help);
}
prometheus::Family<prometheus::Histogram>& AddHistogram(prometheus::Registry* r, const char* name,
                                                        const char* help) {
  return Register(prometheus::BuildHistogram(), r, name, help);
}

// Throws what prometheus-cpp throws on a name clash (std::invalid_argument).
StandardMetrics RegisterOrThrow(prometheus::Registry* r) {
  StandardMetrics m;
  m.lease_expiries = &AddCounter(r, "fsc_lease_expiries_total",
                                 "Task leases that expired before their worker reported; the "
                                 "task went back to the queue.")
                          .Add({});
  m.rpc_duration_seconds = Labeled<prometheus::Histogram>(
      AddHistogram(r, "fsc_rpc_duration_seconds",
                   "Time to answer a gRPC call by method and status code."),
      {"method", "code"}, DefaultLatencyBuckets());

  m.train_iteration =
      &AddGauge(r, "fsc_train_iteration", "The last completed training iteration.").Add({});
  m.train_examples_per_second = Labeled<prometheus::Gauge>(
      AddGauge(r, "fsc_train_examples_per_second",
               "Training throughput of a rank: faces of both sides per second of wall time over "
               "the last logging interval."),
      {"rank"});
  m.train_loss = Labeled<prometheus::Gauge>(
      AddGauge(r, "fsc_train_loss", "Reconstruction loss of the last training step by side."),
      {"side"});
  m.train_mask_loss = Labeled<prometheus::Gauge>(
      AddGauge(r, "fsc_train_mask_loss",
               "Loss of the learned mask in the last training step by side."),
      {"side"});
  m.train_gan_loss = Labeled<prometheus::Gauge>(
      AddGauge(r, "fsc_train_gan_loss",
               "Adversarial loss of the last training step by side and network (generator, "
               "discriminator)."),
      {"side", "net"});
  m.train_step_seconds = Labeled<prometheus::Histogram>(
      AddHistogram(r, "fsc_train_step_seconds",
                   "Time of one training step by phase (compute, allreduce)."),
      {"phase"}, ExponentialBuckets(0.001, 2, 16));
  m.allreduce_bytes =
      &AddCounter(r, "fsc_allreduce_bytes_total", "Gradient bytes all-reduced by this rank.")
           .Add({});
  m.checkpoint_seconds = &AddHistogram(r, "fsc_checkpoint_seconds", "Time to write a checkpoint.")
                              .Add({}, ExponentialBuckets(0.01, 4, 8));
  m.checkpoint_bytes =
      &AddGauge(r, "fsc_checkpoint_bytes", "Size of the last checkpoint written.").Add({});

  m.extract_frames =
      &AddCounter(r, "fsc_extract_frames_total", "Frames decoded by extraction.").Add({});
  m.extract_faces =
      &AddCounter(r, "fsc_extract_faces_total", "Aligned faces written by extraction.").Add({});
  m.convert_frames =
      &AddCounter(r, "fsc_convert_frames_total", "Frames written by conversion.").Add({});
  m.convert_faces =
      &AddCounter(r, "fsc_convert_faces_total", "Faces swapped by conversion.").Add({});
  m.frames_per_second = Labeled<prometheus::Gauge>(
      AddGauge(r, "fsc_frames_per_second",
               "Frames per second by stage (extract, convert) of the task running now; 0 when "
               "idle."),
      {"stage"});
  return m;
}

}  // namespace

absl::StatusOr<StandardMetrics> RegisterStandardMetrics(prometheus::Registry* registry) {
  try {
    return RegisterOrThrow(registry);
  } catch (const std::exception& e) {
    return absl::AlreadyExistsError(absl::StrCat("standard metrics: ", e.what()));
  }
}

const StandardMetrics& Standard() {
  static const StandardMetrics* metrics = [] {
    absl::StatusOr<StandardMetrics> registered = RegisterStandardMetrics(&DefaultRegistry());
    if (!registered.ok()) {
      std::fprintf(stderr, "fatal: %s\n", std::string(registered.status().message()).c_str());
      std::abort();
    }
    return new StandardMetrics(*registered);
  }();
  return *metrics;
}

}  // namespace fsc::metrics
