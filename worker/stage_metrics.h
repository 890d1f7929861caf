// StageMeter: the frame metrics of one extract or convert task. It turns the task's cumulative
// progress callbacks into increments of the stage's frame counter (fsc_extract_frames_total,
// fsc_convert_frames_total) and sets fsc_frames_per_second{stage} to the task's rate so far;
// when the task ends (the meter is destroyed) the rate goes back to 0, an idle worker's truth.
#ifndef FSC_WORKER_STAGE_METRICS_H_
#define FSC_WORKER_STAGE_METRICS_H_

#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "worker/task_env.h"

namespace fsc::worker {

class StageMeter {
 public:
  // `stage`: "extract" or "convert".
  explicit StageMeter(const std::string& stage);
  ~StageMeter();
  StageMeter(const StageMeter&) = delete;
  StageMeter& operator=(const StageMeter&) = delete;

  // `done`: frames finished so far by this task (never decreasing).
  void Progress(int64_t done);
  // The task's faces (found by extraction, swapped by conversion).
  void AddFaces(int64_t faces);

  // The progress callback of the task's extraction or conversion (frames done, frames expected
  // or 0 while unknown): counts the frames (Progress) and reports to `env` the frames/s so far
  // and the task's fraction, `share` of it when all frames are done (a video's convert range
  // leaves the rest to encoding its segment). The meter and `env` must outlive it.
  std::function<void(int64_t, int64_t)> Reporter(const TaskEnv& env, double share = 1);

 private:
  prometheus::Counter& frames_;
  prometheus::Counter& faces_;
  prometheus::Gauge& frames_per_second_;
  const std::chrono::steady_clock::time_point start_;
  int64_t counted_ = 0;
};

}  // namespace fsc::worker

#endif  // FSC_WORKER_STAGE_METRICS_H_
