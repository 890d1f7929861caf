// Frame counters and frames/s of extract and convert tasks.
#include "worker/stage_metrics.h"

#include <algorithm>

#include "core/metrics/standard_metrics.h"

namespace fsc::worker {

StageMeter::StageMeter(const std::string& stage)
    : frames_(stage == "extract" ? *metrics::Standard().extract_frames
                                 : *metrics::Standard().convert_frames),
      faces_(stage == "extract" ? *metrics::Standard().extract_faces
                                : *metrics::Standard().convert_faces),
      frames_per_second_(metrics::Standard().frames_per_second.WithLabels({stage})),
      start_(std::chrono::steady_clock::now()) {
  frames_per_second_.Set(0);
}

StageMeter::~StageMeter() { frames_per_second_.Set(0); }

void StageMeter::Progress(int64_t done) {
  if (done > counted_) {
    frames_.Increment(static_cast<double>(done - counted_));
    counted_ = done;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (seconds > 0) frames_per_second_.Set(static_cast<double>(counted_) / seconds);
}

void StageMeter::AddFaces(int64_t faces) {
  if (faces > 0) faces_.Increment(static_cast<double>(faces));
}

std::function<void(int64_t, int64_t)> StageMeter::Reporter(const TaskEnv& env, double share) {
  return [this, &env, share](int64_t done, int64_t expected) {
    Progress(done);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    TaskProgress p;
    p.fraction = expected > 0 ? share * std::min(1.0, static_cast<double>(done) / expected) : 0;
    p.rate = seconds > 0 ? done / seconds : 0;
    p.unit = "frames";
    env.Report(p);
  };
}

}  // namespace fsc::worker
