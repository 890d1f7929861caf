// JobSpec -> task DAG.
#include "coordinator/planner.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "coordinator/validation.h"
#include "core/util/artifact_names.h"
#include "core/util/status_macros.h"

namespace fsc::coordinator {
namespace {

// Where a convert task finds the alignments of its source (worker/convert_task.cc resolves it).
std::string ConvertAlignmentsPath() {
  return absl::StrCat(kConvertAlignmentsFolderName, "/", kAlignmentsFileName);
}

InputSource FromDataset(const std::string& id, std::string from, std::string to) {
  return InputSource{InputSource::kDataset, id, std::move(from), std::move(to)};
}
InputSource FromTask(const std::string& id, std::string from, std::string to) {
  return InputSource{InputSource::kTaskOutputs, id, std::move(from), std::move(to)};
}

class PlanBuilder {
 public:
  PlanBuilder(std::string job_id, const proto::JobSpec& spec, const ShapeFn& shape,
              const PlanOptions& options)
      : job_id_(std::move(job_id)), spec_(spec), shape_(shape), options_(options) {}

  // Adds a task and returns its id.
  std::string Add(proto::TaskKind kind, int64_t begin, int64_t end, std::vector<std::string> deps,
                  std::vector<InputSource> sources) {
    TaskRecord record;
    proto::Task& task = record.task;
    task.set_version(1);
    task.set_id(absl::StrFormat("%s-t%04d", job_id_, static_cast<int>(tasks_.size())));
    task.set_job_id(job_id_);
    task.set_kind(kind);
    task.set_state(proto::TASK_PENDING);
    task.set_frame_begin(begin);
    task.set_frame_end(end);
    for (std::string& dep : deps) task.add_depends_on(std::move(dep));
    task.set_attempt(0);
    task.set_max_attempts(spec_.max_attempts() > 0 ? spec_.max_attempts() : options_.max_attempts);
    record.role = RoleFor(kind);
    record.sources = std::move(sources);
    tasks_.push_back(std::move(record));
    return tasks_.back().task.id();
  }

  void MarkFinal(const std::string& id) {
    for (TaskRecord& task : tasks_) {
      if (task.task.id() == id) task.final = true;
    }
  }

  absl::StatusOr<DatasetShape> Shape(const std::string& dataset, const std::string& field,
                                     bool frames = true) {
    absl::StatusOr<DatasetShape> shape = shape_(dataset, frames);
    if (!shape.ok()) {
      return absl::Status(shape.status().code(),
                          absl::StrCat(field, " ", dataset, ": ", shape.status().message()));
    }
    return shape;
  }

  // The frame ranges of a source with `frames` frames. Refuses (rather than widening the ranges)
  // when they would take the job past the task limit, naming the frames_per_task that fits.
  absl::StatusOr<std::vector<std::pair<int64_t, int64_t>>> Ranges(int64_t frames,
                                                                  const std::string& field) {
    if (frames <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": the dataset has no frames (no video frames or images)"));
    }
    const int64_t per_task =
        spec_.frames_per_task() > 0 ? spec_.frames_per_task() : options_.default_frames_per_task;
    const int64_t count = (frames + per_task - 1) / per_task;
    // Room for these ranges and a merge after them.
    const int64_t room = options_.max_tasks_per_job - static_cast<int64_t>(tasks_.size()) - 1;
    if (count > room) {
      std::string fix = "this job cannot be split within the limit";
      if (room > 0) {
        fix = absl::StrCat("submit it with --frames-per-task ", (frames + room - 1) / room,
                           " or more");
      }
      return absl::ResourceExhaustedError(
          absl::StrCat(field, ": ", frames, " frames at ", per_task, " frames per task make ",
                       count, " tasks; this coordinator allows ", options_.max_tasks_per_job,
                       " tasks per job (", fix, ", or split the input)"));
    }
    std::vector<std::pair<int64_t, int64_t>> ranges;
    for (int64_t begin = 0; begin < frames; begin += per_task) {
      ranges.emplace_back(begin, std::min(frames, begin + per_task));
    }
    return ranges;
  }

  // Extract tasks over `dataset` + their merge; returns the merge task's id.
  absl::StatusOr<std::string> Extract(const std::string& dataset, const std::string& field) {
    FSC_ASSIGN_OR_RETURN(DatasetShape shape, Shape(dataset, field));
    FSC_ASSIGN_OR_RETURN(auto ranges, Ranges(shape.frame_count, field));
    std::vector<std::string> parts;
    // A video's merge cuts the face PNGs that smoothing moved again, from the source.
    std::vector<InputSource> merge_sources;
    if (shape.is_video)
      merge_sources.push_back(FromDataset(dataset, "", FolderPrefix(kTaskSourceFolder)));
    for (const auto& [begin, end] : ranges) {
      std::string id = Add(proto::TASK_EXTRACT, begin, end, {},
                           {FromDataset(dataset, "", FolderPrefix(kTaskSourceFolder))});
      merge_sources.push_back(FromTask(id, "", absl::StrCat(kTaskPartsFolder, "/", id, "/")));
      parts.push_back(id);
    }
    return Add(proto::TASK_MERGE_ALIGNMENTS, 0, 0, parts, std::move(merge_sources));
  }

  // Convert tasks over `dataset` (+ merge video for a video); marks the final tasks.
  absl::Status Convert(const std::string& dataset, const std::string& field,
                       const InputSource& model, const InputSource& alignments,
                       const std::vector<std::string>& deps) {
    FSC_ASSIGN_OR_RETURN(DatasetShape shape, Shape(dataset, field));
    FSC_ASSIGN_OR_RETURN(auto ranges, Ranges(shape.frame_count, field));
    std::vector<std::string> segments;
    std::vector<InputSource> merge_sources = {
        FromDataset(dataset, "", FolderPrefix(kTaskSourceFolder))};
    for (const auto& [begin, end] : ranges) {
      std::string id =
          Add(proto::TASK_CONVERT, begin, end, deps,
              {FromDataset(dataset, "", FolderPrefix(kTaskSourceFolder)), model, alignments});
      segments.push_back(id);
      merge_sources.push_back(
          FromTask(id, kSegmentName, absl::StrCat(kTaskPartsFolder, "/", id, "/", kSegmentName)));
    }
    if (!shape.is_video) {
      // Converted images are the results themselves; there is nothing to join.
      for (const std::string& id : segments) MarkFinal(id);
      return absl::OkStatus();
    }
    MarkFinal(Add(proto::TASK_MERGE_VIDEO, 0, 0, segments, std::move(merge_sources)));
    return absl::OkStatus();
  }

  // The train stage: TrainSlots() TASK_TRAIN tasks with the same dependencies and inputs.
  std::vector<std::string> Train(const std::vector<std::string>& deps,
                                 const std::vector<InputSource>& sources) {
    std::vector<std::string> ids;
    for (int slot = 0; slot < TrainSlots(spec_.train()); ++slot) {
      ids.push_back(Add(proto::TASK_TRAIN, 0, 0, deps, sources));
    }
    return ids;
  }

  absl::StatusOr<std::vector<TaskRecord>> Build() {
    switch (spec_.kind()) {
      case proto::JOB_EXTRACT: {
        FSC_ASSIGN_OR_RETURN(std::string merge,
                             Extract(spec_.input_dataset(), "spec.input_dataset"));
        MarkFinal(merge);
        break;
      }
      case proto::JOB_CONVERT: {
        FSC_RETURN_IF_ERROR(Shape(spec_.model_dataset(), "spec.model_dataset", false).status());
        InputSource model = FromDataset(spec_.model_dataset(), "", FolderPrefix(kTaskModelFolder));
        std::vector<std::string> deps;
        InputSource alignments;
        if (!spec_.alignments_dataset().empty()) {
          FSC_ASSIGN_OR_RETURN(DatasetShape shape,
                               Shape(spec_.alignments_dataset(), "spec.alignments_dataset", false));
          if (shape.file_count != 1) {
            return absl::InvalidArgumentError(
                absl::StrCat("spec.alignments_dataset: an alignments dataset is one file (",
                             kAlignmentsFileName, ")"));
          }
          alignments = FromDataset(spec_.alignments_dataset(), "*", ConvertAlignmentsPath());
        } else {
          FSC_ASSIGN_OR_RETURN(std::string merge,
                               Extract(spec_.input_dataset(), "spec.input_dataset"));
          deps.push_back(merge);
          alignments = FromTask(merge, kAlignmentsFileName, ConvertAlignmentsPath());
        }
        FSC_RETURN_IF_ERROR(
            Convert(spec_.input_dataset(), "spec.input_dataset", model, alignments, deps));
        break;
      }
      case proto::JOB_TRAIN: {
        std::vector<InputSource> sources = {
            FromDataset(spec_.faces_a_dataset(), "", FolderPrefix(kTaskFacesAFolder)),
            FromDataset(spec_.faces_b_dataset(), "", FolderPrefix(kTaskFacesBFolder))};
        FSC_RETURN_IF_ERROR(Shape(spec_.faces_a_dataset(), "spec.faces_a_dataset", false).status());
        FSC_RETURN_IF_ERROR(Shape(spec_.faces_b_dataset(), "spec.faces_b_dataset", false).status());
        if (!spec_.model_dataset().empty()) {
          FSC_RETURN_IF_ERROR(Shape(spec_.model_dataset(), "spec.model_dataset", false).status());
          sources.push_back(FromDataset(spec_.model_dataset(), "", FolderPrefix(kTaskModelFolder)));
        }
        // Every slot is final: the artifacts are the model of the one that delivers it (the
        // others end without outputs).
        for (const std::string& id : Train({}, sources)) MarkFinal(id);
        break;
      }
      case proto::JOB_SWAP: {
        FSC_ASSIGN_OR_RETURN(std::string merge_a,
                             Extract(spec_.input_dataset(), "spec.input_dataset"));
        FSC_ASSIGN_OR_RETURN(std::string merge_b,
                             Extract(spec_.input_b_dataset(), "spec.input_b_dataset"));
        std::vector<std::string> slots = Train(
            {merge_a, merge_b},
            {FromTask(merge_a, FolderPrefix(kFacesFolderName), FolderPrefix(kTaskFacesAFolder)),
             FromTask(merge_b, FolderPrefix(kFacesFolderName), FolderPrefix(kTaskFacesBFolder))});
        // The model source names the first slot; the scheduler takes the model from whichever
        // slot of the stage delivered it. Converting waits for every slot (all end together).
        std::vector<std::string> deps = {merge_a};
        deps.insert(deps.end(), slots.begin(), slots.end());
        FSC_RETURN_IF_ERROR(Convert(
            spec_.input_dataset(), "spec.input_dataset",
            FromTask(slots[0], FolderPrefix(kTaskModelFolder), FolderPrefix(kTaskModelFolder)),
            FromTask(merge_a, kAlignmentsFileName, ConvertAlignmentsPath()), deps));
        break;
      }
      default:
        return absl::InvalidArgumentError("spec.kind: not a job kind");
    }
    if (static_cast<int64_t>(tasks_.size()) > options_.max_tasks_per_job) {
      return absl::ResourceExhaustedError(absl::StrCat("the job would have ", tasks_.size(),
                                                       " tasks; this coordinator allows ",
                                                       options_.max_tasks_per_job, " per job"));
    }
    return std::move(tasks_);
  }

 private:
  std::string job_id_;
  const proto::JobSpec& spec_;
  const ShapeFn& shape_;
  const PlanOptions& options_;
  std::vector<TaskRecord> tasks_;
};

}  // namespace

int TrainSlots(const proto::TrainOptions& train) {
  return std::max({1, train.ranks(), train.max_ranks()});
}

proto::WorkerRole RoleFor(proto::TaskKind kind) {
  switch (kind) {
    case proto::TASK_EXTRACT:
    case proto::TASK_MERGE_ALIGNMENTS:
      return proto::ROLE_EXTRACT;
    case proto::TASK_CONVERT:
    case proto::TASK_MERGE_VIDEO:
      return proto::ROLE_CONVERT;
    case proto::TASK_TRAIN:
      return proto::ROLE_TRAIN;
    default:
      return proto::WORKER_ROLE_UNSPECIFIED;
  }
}

absl::StatusOr<std::vector<TaskRecord>> PlanJob(const std::string& job_id,
                                                const proto::JobSpec& spec, const ShapeFn& shape,
                                                const PlanOptions& options) {
  return PlanBuilder(job_id, spec, shape, options).Build();
}

}  // namespace fsc::coordinator
