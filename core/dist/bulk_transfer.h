// Bulk transfer: moves large host-memory data (a model's training state, hundreds of MB) from one
// rank to some others, so that a timeout means "no progress", never "the whole transfer took too
// long" (a fixed timeout on a 600 MB broadcast livelocked a loaded group: every retry moved the
// same bytes into the same timeout).
//
// Every rank of the communicator calls Transfer with the same plan and the same span sizes and
// takes one of three parts:
//  - the source sends the spans to each receiver in chunks of `chunk_bytes`, each chunk one
//    point-to-point call bounded by the communicator's timeout: a slow but live link only makes
//    the transfer slower, a dead or silent one fails within one timeout;
//  - a receiver receives the chunks into its spans (written in place: no staging copy);
//  - every other rank (a bystander, which already holds the data) waits for the end, fed a
//    progress token by the source after a chunk once `token_every` has passed since the last:
//    it fails only when no token arrives for one timeout, i.e. when the source is dead or stuck
//    (a chunk that takes a whole timeout fails the receiver anyway).
// A rank that fails leaves the communicator broken; when the caller drops it, the sockets close
// and the other ranks' waits fail at once (UNAVAILABLE) instead of timing out.
//
// Progress: `on_progress` is called every `report_every` while a transfer runs (so a transfer
// shorter than that reports nothing), on the source and the receivers, for the job's log.
#ifndef FSC_CORE_DIST_BULK_TRANSFER_H_
#define FSC_CORE_DIST_BULK_TRANSFER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/dist/communicator.h"

namespace fsc::dist {

// A range of host memory: read on the source, written on a receiver, unused on a bystander.
struct ByteSpan {
  void* data = nullptr;
  size_t bytes = 0;
};

struct TransferPlan {
  int source = 0;
  std::vector<int> receivers;  // ranks other than the source; the rest are bystanders
};

struct TransferProgress {
  int64_t bytes_done = 0;  // to each receiver
  int64_t bytes_total = 0;
  double seconds = 0;  // since the transfer started on this rank
  double MegabytesPerSecond() const { return seconds > 0 ? bytes_done / 1e6 / seconds : 0; }
};

struct TransferOptions {
  size_t chunk_bytes = 4 << 20;
  absl::Duration report_every = absl::Seconds(3);
  absl::Duration token_every = absl::Seconds(1);
  std::function<void(const TransferProgress&)> on_progress;
  // On a receiver: called once span `index` has arrived whole, while the next ones are still
  // coming (e.g. to hash it).
  std::function<void(size_t index)> on_span;
};

struct TransferStats {
  int64_t bytes_sent = 0;      // this rank, to all receivers together
  int64_t bytes_received = 0;  // this rank
  double seconds = 0;
};

// The part of `rank` in `plan`.
enum class TransferRole { kSource, kReceiver, kBystander };
TransferRole RoleIn(const TransferPlan& plan, int rank);

// Moves `spans` as described above. INVALID_ARGUMENT for a plan that names a rank twice, the
// source as a receiver or a rank outside the group; the communicator's errors otherwise
// (DEADLINE_EXCEEDED naming the peer that made no progress, UNAVAILABLE for a closed link).
absl::StatusOr<TransferStats> Transfer(Communicator* comm, const TransferPlan& plan,
                                       const std::vector<ByteSpan>& spans,
                                       const TransferOptions& options = {});

// A byte string of any length from the source to the receivers (its size first, then the bytes
// as one span); receivers' `bytes` are replaced, the source's and bystanders' are left as they
// are.
absl::StatusOr<TransferStats> TransferString(Communicator* comm, const TransferPlan& plan,
                                             std::string* bytes,
                                             const TransferOptions& options = {});

}  // namespace fsc::dist

#endif  // FSC_CORE_DIST_BULK_TRANSFER_H_
