// TrainGauges: feeds the training families of core/metrics/standard_metrics.h (iteration,
// examples/s of a rank, loss per side, learned-mask and adversarial losses) from a Trainer's
// callbacks. Shared by `fsc train --metrics-port` and the worker's train task.
//
//   train::TrainGauges gauges(metrics::Standard(), /*rank=*/0, gan, mask);
//   callbacks.on_step = [&](int64_t it, const train::StepLosses& l) { gauges.Step(it, l); };
//   callbacks.on_interval = [&](const train::IntervalReport& r) { gauges.Interval(r); };
#ifndef FSC_CORE_TRAIN_TRAIN_GAUGES_H_
#define FSC_CORE_TRAIN_TRAIN_GAUGES_H_

#include <prometheus/gauge.h>

#include <cstdint>
#include <map>
#include <string>

#include "core/metrics/standard_metrics.h"
#include "core/train/trainer.h"

namespace fsc::train {

// Children are looked up once; updates are atomic stores. Mask and GAN series exist only in runs
// that have them, so a dashboard does not show flat zeros for losses a model does not compute.
class TrainGauges {
 public:
  TrainGauges(const metrics::StandardMetrics& m, int rank, bool gan, bool mask);

  // After each step: the iteration and the step's losses (a skipped step keeps the last ones).
  void Step(int64_t iteration, const StepLosses& losses);
  // After each logging interval: the rank's examples per second.
  void Interval(const IntervalReport& report);
  // An elastic run's rank changes with its generation: later intervals go to `rank`'s series,
  // and the old rank's series drops to 0 (this process no longer trains as that rank).
  void SetRank(int rank);

 private:
  using Gauge = prometheus::Gauge;
  Gauge& iteration_;
  const metrics::Labeled<Gauge>& examples_family_;
  int rank_;
  Gauge* examples_per_second_;
  Gauge& loss_a_;
  Gauge& loss_b_;
  Gauge *mask_a_ = nullptr, *mask_b_ = nullptr;
  Gauge *gan_g_a_ = nullptr, *gan_g_b_ = nullptr, *gan_d_a_ = nullptr, *gan_d_b_ = nullptr;
};

// Records one checkpoint write in fsc_checkpoint_seconds and fsc_checkpoint_bytes: `seconds` to
// write it, `files` its tensor files by role (their sizes are summed; the manifest is small).
void RecordCheckpoint(double seconds, const std::map<std::string, std::string>& files);

}  // namespace fsc::train

#endif  // FSC_CORE_TRAIN_TRAIN_GAUGES_H_
