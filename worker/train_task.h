// TASK_TRAIN: trains a model on two face sets with core/train's Trainer, as `fsc train` does, and
// returns the model folder (checkpoint with its manifest, preview).
//   in:  faces_a/*, faces_b/* [, model/* to resume]
//   out: model/*
// A job with several rank slots (spec.train ranks/max_ranks > 1) trains as one rank of an
// elastic group (dist::RunElastic over env.group); only the final generation's rank 0 returns
// model/, the other ranks return nothing.
// A face set folder may hold the faces directly or, when it is an extract/merge output, in a
// faces/ subfolder beside alignments.fsa.
#ifndef FSC_WORKER_TRAIN_TASK_H_
#define FSC_WORKER_TRAIN_TASK_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/train/train_options.h"
#include "proto/fsc.pb.h"
#include "worker/task_env.h"

namespace fsc::worker {

// The folder of face PNGs inside a face dataset folder (see above); NOT_FOUND naming the folder
// when it holds none.
absl::StatusOr<std::string> FindFacesFolder(const std::string& dir);

// The training options a job asks for over `base` (fsc train's defaults, or a resumed model's
// own options): a field not present keeps base's value (train::ApplyTrainSpec). INVALID_ARGUMENT
// when the spec breaks its schema (its cluster-only fields included): the coordinator checks it
// on submit, so only a spec from elsewhere (an older coordinator) gets here; it is refused, not
// applied in part.
absl::StatusOr<train::TrainOptions> TrainOptionsFromSpec(const proto::TrainOptions& spec,
                                                         train::TrainOptions base);

absl::Status RunTrainTask(const proto::Task& task, const TaskEnv& env);

}  // namespace fsc::worker

#endif  // FSC_WORKER_TRAIN_TASK_H_
