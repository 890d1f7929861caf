// PreviewPublisher: hands a train task's previews to the worker. The Trainer rewrites
// MODEL_DIR/preview.png (atomically) every preview_every iterations and at the end; Poll notices
// a new one by its modification time, copies it into the task's scratch folder (so the upload
// reads a file nobody rewrites) and hands it to TaskEnv::ReportPreview, whose reporter uploads it
// and tells the coordinator (`fsc preview JOB`).
#ifndef FSC_WORKER_PREVIEW_PUBLISHER_H_
#define FSC_WORKER_PREVIEW_PUBLISHER_H_

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "worker/task_env.h"

namespace fsc::worker {

class PreviewPublisher {
 public:
  // Copies go to SCRATCH_DIR/previews; `env` must outlive the publisher.
  PreviewPublisher(const std::string& model_dir, const std::string& scratch_dir,
                   const TaskEnv& env);

  // When the preview is new since the last call, reports a copy of it as showing `iteration`
  // (the Trainer writes a preview after finishing that step). Cheap when nothing changed (one
  // stat). Returns whether it reported one.
  bool Poll(int64_t iteration);

 private:
  const std::filesystem::path preview_;
  const std::filesystem::path copies_;
  const TaskEnv& env_;
  std::optional<std::filesystem::file_time_type> last_;
};

}  // namespace fsc::worker

#endif  // FSC_WORKER_PREVIEW_PUBLISHER_H_
