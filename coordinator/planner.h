// Turns a JobSpec into the job's task graph (see proto/fsc.proto, "How the coordinator fills
// Task.inputs"):
//   extract  -> TASK_EXTRACT per frame range + TASK_MERGE_ALIGNMENTS over all of them
//   convert  -> [extract + merge, when no alignments dataset is given] + TASK_CONVERT per range
//               + TASK_MERGE_VIDEO (video inputs; image inputs end with the convert tasks)
//   train    -> the train stage: one TASK_TRAIN, or, for a multi-rank job, one TASK_TRAIN per
//               rank slot (max(ranks, max_ranks) of them; see train_groups.h)
//   swap     -> extract A + merge, extract B + merge, train stage (needs both merges), convert A
//               with the trained model + merge video (after every slot of the stage)
// Frame ranges of one source cover [0, frame count) exactly, in order, without overlap. For
// images "frames" are the image files in sorted path order.
//
// Each planned task carries where its inputs come from (InputSource): datasets under their
// prefix (input/, faces_a/, faces_b/, model/, alignments/alignments.fsca) and dependencies'
// outputs under parts/<task id>/ or a role prefix. The scheduler resolves them when it leases.
#ifndef FSC_COORDINATOR_PLANNER_H_
#define FSC_COORDINATOR_PLANNER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "coordinator/store.h"
#include "proto/fsc.pb.h"

namespace fsc::coordinator {

inline constexpr int kDefaultFramesPerTask = 64;
// Tasks one job may have unless the coordinator is told otherwise (--max-tasks-per-job): 10,000
// ranges of 64 frames cover about six hours of 30 fps video.
inline constexpr int kDefaultMaxTasksPerJob = 10000;

// What the planner needs to know about an input dataset.
struct DatasetShape {
  bool is_video = false;    // one video file; otherwise images
  int64_t frame_count = 0;  // video frames, or image files
  int file_count = 0;
};

// Returns the shape of a dataset id of the job's owner (NOT_FOUND when the owner has no such
// dataset). `frames` asks for is_video/frame_count (a frame source); otherwise only existence
// and file_count matter. Errors propagate to the submitter.
using ShapeFn =
    std::function<absl::StatusOr<DatasetShape>(const std::string& dataset_id, bool frames)>;

struct PlanOptions {
  int default_frames_per_task = kDefaultFramesPerTask;
  int max_attempts = 3;  // used when the spec says 0
  int max_tasks_per_job = kDefaultMaxTasksPerJob;
};

// The tasks of job `job_id`, in an order where every task comes after its dependencies. Ids are
// `<job_id>-t<index>`. State PENDING, attempt 0; priority and job_seq are left for the caller.
// RESOURCE_EXHAUSTED when the job would have more than options.max_tasks_per_job tasks (ranges
// are never widened to fit: the message says which frames_per_task would).
absl::StatusOr<std::vector<TaskRecord>> PlanJob(const std::string& job_id,
                                                const proto::JobSpec& spec, const ShapeFn& shape,
                                                const PlanOptions& options);

// Rank slots of a job's train stage: max(1, ranks, max_ranks). More than one = an elastic,
// data-parallel stage whose slots train together as one group.
int TrainSlots(const proto::TrainOptions& train);

// The role a worker needs to run a task kind.
proto::WorkerRole RoleFor(proto::TaskKind kind);

}  // namespace fsc::coordinator

#endif  // FSC_COORDINATOR_PLANNER_H_
