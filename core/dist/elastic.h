// Elastic data-parallel training: the one entry point through which a trainer joins a group of
// ranks, trains with gradients all-reduced between them, and survives members joining and
// leaving. The cluster (worker/) calls RunElastic with a GroupDirectory over gRPC; `fsc train
// --ranks N` calls it with a fixed local directory (local_group.h: a file store, generation 0).
//
// A generation is one fixed membership of the group. Within a generation every rank steps in
// lock step; between generations the group re-rendezvous, agrees on who has the newest state
// and broadcasts it, so a joiner or a survivor of a lost member continues from the same weights.
#ifndef FSC_CORE_DIST_ELASTIC_H_
#define FSC_CORE_DIST_ELASTIC_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/dist/kv_store.h"
#include "core/train/trainer.h"

namespace fsc::dist {

struct Generation {
  int64_t id = 0;
  int rank = 0;
  int world_size = 1;
};

// Who is in the group. Implemented by the cluster side over gRPC (worker/), and by core/dist
// itself for fixed local groups (a file store, generation 0 forever).
class GroupDirectory {
 public:
  virtual ~GroupDirectory() = default;
  // Blocks until a generation with id > `after` that includes this process exists; returns
  // it (with this process's rank in it). CANCELLED when the process should stop (task
  // cancelled / job over), other errors when the coordinator is unreachable for too long.
  virtual absl::StatusOr<Generation> Next(int64_t after) = 0;
  // Cheap, polled every step: true once a generation newer than `current` exists (e.g. a
  // new trainer joined, or a member was lost).
  virtual bool Changed(int64_t current) = 0;
  // The rendezvous store of generation `id` (keys of other generations are invisible).
  virtual std::unique_ptr<KeyValueStore> StoreFor(int64_t id) = 0;
};

struct ElasticOptions {
  std::string backend = "auto";  // auto | gloo | nccl
  std::string bind_address;      // this rank's data-plane address ("" = 127.0.0.1)
  int64_t bucket_bytes = 25 << 20;
  absl::Duration collective_timeout = absl::Seconds(30);
};

// Trains `trainer` to its options().iterations as one rank of the group, across generations:
// Next() -> connect -> agree on the state source (the member with the highest saved
// iteration) -> broadcast weights, optimiser and discriminator state and the iteration ->
// steps (gradients all-reduced) until done, Changed() (agreed by all members at the same step,
// then a checkpoint and a clean re-rendezvous) or a collective error (a member died: reload
// the last checkpoint, Next() again). Every rank keeps its own local checkpoint in its model_dir
// at save_every (identical across ranks), so any survivor can be the source.
// On return (OK) every member's model_dir holds the same final checkpoint.
//
// The summary's `dist` part says whether this process was rank 0 of the last generation (the
// member whose model the job keeps) and this rank's compute / all-reduce split.
absl::StatusOr<train::RunSummary> RunElastic(train::Trainer* trainer, GroupDirectory* group,
                                             const ElasticOptions& options,
                                             const train::TrainCallbacks& callbacks);

}  // namespace fsc::dist

#endif  // FSC_CORE_DIST_ELASTIC_H_
