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
#include <string>

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

 private:
  prometheus::Counter& frames_;
  prometheus::Counter& faces_;
  prometheus::Gauge& frames_per_second_;
  const std::chrono::steady_clock::time_point start_;
  int64_t counted_ = 0;
};

}  // namespace fsc::worker

#endif  // FSC_WORKER_STAGE_METRICS_H_
