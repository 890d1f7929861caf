// Elastic data-parallel training: the one entry point through which a trainer joins a group of
// ranks, trains with gradients all-reduced between them, and survives members joining and
// leaving. The cluster (worker/) calls RunElastic with a GroupDirectory over gRPC; `fsc train
// --ranks N` calls it with a fixed local directory (local_group.h: a file store, generation 0).
//
// A generation is one fixed membership of the group. Within a generation every rank steps in
// lock step; between generations the group re-rendezvous and agrees on the state to continue
// from, so a joiner or a survivor of a lost member continues from the same weights.
//
// The rules (each learned from a livelock):
//  - State moves only to members that lack it. Every member keeps a restore point in memory
//    (Trainer::Commit: at start, at each save_every and when the group changes) and rolls back
//    to it after a failed step without reading the disk. At a new generation the members
//    exchange (iteration, digest) of their restore points; the source is the newest (lowest rank
//    on ties); members whose restore point equals the source's keep theirs, and only the others
//    (a joiner, a restarted member) receive it. Survivors of a lost member move 0 bytes.
//  - A timeout means "no progress": the state moves in chunks (bulk_transfer.h), each bounded by
//    the collective timeout; waiting for members to arrive at the rendezvous is bounded by the
//    connect timeout, which the cluster's store ends early when the group changes again.
//  - Failures are bounded: each consecutive generation that fails without a completed step
//    doubles the collective timeout (up to 8x), and after max_failed_generations of them the run
//    fails with FAILED_PRECONDITION naming the last cause and what to change.
//  - Checkpoints are written in the background from the restore point (Trainer::SaveCommitted),
//    so ranks that save at the same step do not wait for each other's disks in a collective.
#ifndef FSC_CORE_DIST_ELASTIC_H_
#define FSC_CORE_DIST_ELASTIC_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/dist/kv_store.h"
#include "core/dist/recovery.h"
#include "core/train/trainer.h"

namespace fsc::dist {

struct Generation {
  int64_t id = 0;
  int rank = 0;
  int world_size = 1;
  std::vector<std::string> members;  // a name per rank for messages (worker ids); may be empty
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
  // No progress for this long fails a collective or a chunk of a state transfer.
  absl::Duration collective_timeout = absl::Seconds(30);
  // How long a generation waits for its members to arrive (a joiner may still be loading).
  absl::Duration connect_timeout = absl::Minutes(5);
  // Consecutive generations lost without a completed step before the run fails.
  int max_failed_generations = 5;
  Recovery recovery = Recovery::kInMemory;
};

// Trains `trainer` to its options().iterations as one rank of the group, across generations:
// Next() -> connect -> agree on the state (see above; a transfer only to members that lack it)
// -> steps (gradients all-reduced) until done, Changed() (agreed by all members at the same
// step, then a restore point and a clean re-rendezvous) or a collective error (a member died or
// stalled: roll back to the restore point, Next() again). Every rank writes its own checkpoint
// to its model_dir at save_every (identical across ranks).
// On return (OK) every member's model_dir holds the same final checkpoint.
//
// Events (callbacks.on_event, the job's log): each generation's rank, what moved (or that
// nothing had to), transfer progress (bytes, MB/s) every few seconds, the time from the
// generation's start to its first completed step, checkpoints and failures.
//
// The summary's `dist` part says whether this process was rank 0 of the last generation (the
// member whose model the job keeps), this rank's compute / all-reduce split and the state bytes
// it sent and received.
absl::StatusOr<train::RunSummary> RunElastic(train::Trainer* trainer, GroupDirectory* group,
                                             const ElasticOptions& options,
                                             const train::TrainCallbacks& callbacks);

}  // namespace fsc::dist

#endif  // FSC_CORE_DIST_ELASTIC_H_
