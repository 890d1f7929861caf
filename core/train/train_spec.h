// A cluster train job's options (proto::TrainOptions, described by its annotations in fsc.proto)
// and the trainer's TrainOptions: which field sets which member, so that `fsc train`'s flags,
// `fsc submit train`'s flags and the worker that applies a job all follow one definition.
#ifndef FSC_CORE_TRAIN_TRAIN_SPEC_H_
#define FSC_CORE_TRAIN_TRAIN_SPEC_H_

#include "core/train/train_options.h"
#include "core/util/flags.h"
#include "proto/fsc.pb.h"

namespace fsc::train {

// Declares the flags of the job options the trainer has (every annotated TrainOptions field but
// the cluster-only ones), each setting its member of `options` when given; --help shows the
// member's current value as the default (so set `options` first, e.g. from a checkpoint).
void AddTrainSpecFlags(util::FlagSet* flags, TrainOptions* options);

// Applies a job's spec: every field present sets its member of `options`; the rest keep theirs
// (the defaults, or a resumed model's own options). Cluster-only fields are not the trainer's.
void ApplyTrainSpec(const proto::TrainOptions& spec, TrainOptions* options);

// The spec with every trainer field present, holding `options`' values.
proto::TrainOptions TrainSpecOf(const TrainOptions& options);

}  // namespace fsc::train

#endif  // FSC_CORE_TRAIN_TRAIN_SPEC_H_
