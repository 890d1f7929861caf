// TASK_EXTRACT: detect, align and crop the faces of frames [frame_begin, frame_end) of the input
// (a video, an image, or a folder of images whose "frames" are the images in sorted order) with
// the same code as `fsc extract`.
//   in:  input/<the file, or the folder's files>
//   out: alignments.fsa (only the range's frames, the whole source's SourceInfo), faces/*.png
#ifndef FSC_WORKER_EXTRACT_TASK_H_
#define FSC_WORKER_EXTRACT_TASK_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/face/extractor.h"
#include "core/util/artifact_names.h"
#include "proto/fsc.pb.h"
#include "worker/task_env.h"

namespace fsc::worker {

// The extraction options a job asks for, on top of fsc extract's defaults (a field not present
// keeps the default; face::ApplyExtractSpec). The extract task itself never smooths (see
// ExtractOptions::smooth); the merge task stabilises with `smooth` and `stabilize`.
// INVALID_ARGUMENT when the spec breaks its schema: the coordinator checks it on submit, so only
// a spec from elsewhere (an older coordinator) gets here; it is refused, not applied in part.
absl::StatusOr<face::ExtractOptions> ExtractOptionsFromSpec(const proto::ExtractOptions& spec);

// The source a task's input folder holds: `dir`/<file> for one file, else `dir` itself (a folder
// of images). NOT_FOUND when it is empty.
absl::StatusOr<std::string> ResolveSource(const std::string& dir);

// A task over frames [begin, end) of a video that decoded only `frames_read` of them: the video
// does not hold the frames its uploader declared (proto MediaInfo), or is damaged past frame
// begin + frames_read. INVALID_ARGUMENT (the job fails without retrying: every attempt would see
// the same bytes); OK when the whole range decoded, or for whole-source tasks (end <= 0).
absl::Status CheckVideoRange(const std::string& source, int64_t begin, int64_t end,
                             int64_t frames_read);

absl::Status RunExtractTask(const proto::Task& task, const TaskEnv& env);

}  // namespace fsc::worker

#endif  // FSC_WORKER_EXTRACT_TASK_H_
