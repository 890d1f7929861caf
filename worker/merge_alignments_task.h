// TASK_MERGE_ALIGNMENTS: joins the extract tasks' outputs of one source into one alignments file
// and one faces folder, as if one `fsc extract` had run over the whole source.
//   in:  parts/<task id>/alignments.fsa, parts/<task id>/faces/*.png
//   out: alignments.fsa, faces/*.png
// Frames are concatenated in frame order. Parts must describe the same source (same sha256) and
// must not both hold a frame. Face files keep their names (ranges of one source never collide);
// should two different files share a name, the later one is renamed <stem>-<n>.png and its
// face_file updated. Then, for a video with smoothing on (the job's ExtractOptions.smooth), the
// merged file is stabilised once (core/face/stabilize.h): tracks, gaps and shot cuts cross range
// borders, so this gives exactly what one local `fsc extract` gives. The face PNGs then follow the
// smoothed landmarks, as a local extraction's do: those of moved faces, and new ones for filled
// faces, are cut again from the source (in: input/, the job's input dataset; see face_recut.h).
#ifndef FSC_WORKER_MERGE_ALIGNMENTS_TASK_H_
#define FSC_WORKER_MERGE_ALIGNMENTS_TASK_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/face/stabilize.h"
#include "proto/fsc.pb.h"
#include "worker/task_env.h"

namespace fsc::worker {

// Merges the part folders (each holding alignments.fsa and faces/) into `out_dir`, stabilising
// a video's merged alignments with `stabilize` when given (nullopt: left raw) and then cutting
// the face PNGs again from `source` (the media extracted, on `threads` threads; empty: the
// parts' PNGs are kept as they are). INVALID_ARGUMENT for parts of different sources or overlapping
// frames, naming the parts; FAILED_PRECONDITION for a `source` that is not the parts' source.
absl::Status MergeAlignmentParts(
    const std::vector<std::string>& part_dirs, const std::string& out_dir,
    const std::optional<face::StabilizeOptions>& stabilize = std::nullopt,
    const std::string& source = "", int threads = 1);

absl::Status RunMergeAlignmentsTask(const proto::Task& task, const TaskEnv& env);

}  // namespace fsc::worker

#endif  // FSC_WORKER_MERGE_ALIGNMENTS_TASK_H_
