// Resolves a task's InputSources (planner.h) into the Task.inputs the worker fetches: each
// source's files (a dataset's, or a finished dependency's outputs) mapped to the path they take
// in the task's folder.
#ifndef FSC_COORDINATOR_TASK_INPUTS_H_
#define FSC_COORDINATOR_TASK_INPUTS_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "coordinator/store.h"
#include "proto/fsc.pb.h"

namespace fsc::coordinator {

// Where `path` goes under `source`'s mapping, or nullopt when the source does not select it.
std::optional<std::string> MapSourcePath(const InputSource& source, const std::string& path,
                                         int file_count);

// The files of a source: a dataset's files or a task's outputs.
using SourceFilesFn =
    std::function<absl::StatusOr<std::vector<proto::FileEntry>>(const InputSource& source)>;

// Whether a task of `kind` needs its input at `path` (a path in the task's folder). A convert
// task takes a model's weights only, never the training state beside them (model/state/...,
// twice the weights' size: core/util/model_folder.h); everything else needs all it maps.
bool InputNeeded(proto::TaskKind kind, const std::string& path);

// All inputs of a task. FAILED_PRECONDITION when a source selects nothing (e.g. a merge that
// produced no alignments.fsa) or two sources map to the same path.
absl::StatusOr<std::vector<proto::FileEntry>> ResolveInputs(const std::vector<InputSource>& sources,
                                                            const SourceFilesFn& files_of);

}  // namespace fsc::coordinator

#endif  // FSC_COORDINATOR_TASK_INPUTS_H_
