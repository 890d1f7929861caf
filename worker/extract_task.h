// TASK_EXTRACT: detect, align and crop the faces of frames [frame_begin, frame_end) of the input
// (a video, an image, or a folder of images whose "frames" are the images in sorted order) with
// the same code as `fsc extract`.
//   in:  input/<the file, or the folder's files>
//   out: alignments.fsca (only the range's frames, the whole source's SourceInfo), faces/*.png
#ifndef FSC_WORKER_EXTRACT_TASK_H_
#define FSC_WORKER_EXTRACT_TASK_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/face/extractor.h"
#include "proto/fsc.pb.h"
#include "worker/task_env.h"

namespace fsc::worker {

inline constexpr char kAlignmentsName[] = "alignments.fsca";
inline constexpr char kFacesFolder[] = "faces";

// The extraction options a job asks for, on top of fsc extract's defaults (a zero/empty field
// in the proto means "the default").
face::ExtractOptions ExtractOptionsFromSpec(const proto::ExtractOptions& spec);

// The source a task's input folder holds: `dir`/<file> for one file, else `dir` itself (a folder
// of images). NOT_FOUND when it is empty.
absl::StatusOr<std::string> ResolveSource(const std::string& dir);

absl::Status RunExtractTask(const proto::Task& task, const TaskEnv& env);

}  // namespace fsc::worker

#endif  // FSC_WORKER_EXTRACT_TASK_H_
