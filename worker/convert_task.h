// TASK_CONVERT: swaps the faces of frames [frame_begin, frame_end) of the input with the trained
// model, with the same code as `fsc convert` (core/convert), and returns a labelled segment.
//   in:  input/*, model/*, alignments/alignments.fsa (the planner's name for the file)
//   out: segment.mkv (video input) or images/* (image input)
// core/convert converts whole sources, so the range is first laid out as a source of its own: a
// folder of the range's frames (lossless PNG for video, links for images) with the alignments of
// those frames re-indexed to it. The converted frames (watermarked by core/convert) are then
// encoded into the segment with the job's codec at the source's exact frame rate, so that
// TASK_MERGE_VIDEO can join the segments without re-encoding. frame_begin = frame_end = 0 means
// the whole input.
#ifndef FSC_WORKER_CONVERT_TASK_H_
#define FSC_WORKER_CONVERT_TASK_H_

#include "absl/status/status.h"
#include "proto/fsc.pb.h"
#include "worker/task_env.h"

namespace fsc::worker {

absl::Status RunConvertTask(const proto::Task& task, const TaskEnv& env);

}  // namespace fsc::worker

#endif  // FSC_WORKER_CONVERT_TASK_H_
