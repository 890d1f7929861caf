// TASK_MERGE_VIDEO: joins the convert tasks' segments in frame order without re-encoding (the
// ffmpeg concat demuxer, -c copy), muxes the source's audio back in and tags the container as
// synthetic (core/convert/synthetic_label.h; the frames already carry the watermark).
//   in:  input/<source video>, parts/<task id>/segment.mkv (task ids in depends_on order)
//   out: <source stem>_swapped.mp4
// The output is written under a temporary name and renamed once ffmpeg succeeded.
#ifndef FSC_WORKER_MERGE_VIDEO_TASK_H_
#define FSC_WORKER_MERGE_VIDEO_TASK_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "proto/fsc.pb.h"
#include "worker/task_env.h"

namespace fsc::worker {

// The merged video's name for a source: "<stem>_swapped.mp4".
std::string MergedVideoName(const std::string& source);

// Concatenates `segments` (in order) into `output` with the audio of `source` (if it has any),
// labelled. INVALID_ARGUMENT for no segments; ffmpeg's message when it fails.
absl::Status MergeSegments(const std::vector<std::string>& segments, const std::string& source,
                           const std::string& output, const std::string& scratch_dir);

absl::Status RunMergeVideoTask(const proto::Task& task, const TaskEnv& env);

}  // namespace fsc::worker

#endif  // FSC_WORKER_MERGE_VIDEO_TASK_H_
