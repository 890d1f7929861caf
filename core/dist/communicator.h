// The collectives a data-parallel group needs, behind one interface with two backends:
//  - "gloo" (gloo_communicator.h): TCP between hosts, data in host memory; the CPU backend;
//  - "nccl" (nccl_communicator.h): NCCL between GPUs, gradient data in device memory; compiled
//    where the CUDA toolkit has NCCL (FSC_WITH_CUDA), refused with FAILED_PRECONDITION elsewhere
//    or on a machine without a GPU.
// Both rendezvous through a KeyValueStore (kv_store.h). Every call is bounded by the
// communicator's timeout, so a dead or unreachable peer is an error (DEADLINE_EXCEEDED or
// UNAVAILABLE), never a hang; after an error the communicator is broken (FAILED_PRECONDITION
// for every later call) and the group must connect again.
//
// The timeout bounds ONE call, so it means "no progress for that long" only for calls that move
// little data. Bulk data (a model's state: hundreds of MB) never goes through one call: it goes
// in chunks through bulk_transfer.h, each chunk a call of its own.
//
// Collectives are matched by call order: every rank must issue the same collectives in the same
// order. Point-to-point Send/Recv match in call order per pair of ranks and direction, and are
// issued only by the two ranks concerned. Calls are serialised internally, so different threads
// may use one communicator as long as the order of calls is the same on every rank.
#ifndef FSC_CORE_DIST_COMMUNICATOR_H_
#define FSC_CORE_DIST_COMMUNICATOR_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/dist/kv_store.h"

namespace fsc::dist {

struct CommunicatorOptions {
  std::string backend = "gloo";  // gloo | nccl ("auto" is resolved by the caller: ResolveBackend)
  int rank = 0;
  int world_size = 1;
  std::string bind_address;  // gloo: the address this rank listens on ("" = 127.0.0.1)
  absl::Duration timeout = absl::Seconds(30);  // every call (collective, send, receive)
  // How long Connect waits for the other ranks to arrive at the rendezvous (0: `timeout`). A
  // member may be alive but still loading its data; the store ends the wait early (ABORTED)
  // when the group changes, so this can be much longer than `timeout`.
  absl::Duration connect_timeout = absl::ZeroDuration();
  int cuda_device = 0;  // nccl: the GPU of this rank
};

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  virtual std::string backend() const = 0;

  // Sums `count` float32 values at `data` over the group, in place: host memory for gloo, the
  // communicator's GPU memory for nccl (the gradient buckets).
  virtual absl::Status AllReduceSum(float* data, size_t count) = 0;
  // Small host-memory reductions (losses, flags, iteration numbers), in place.
  virtual absl::Status AllReduceSumHost(double* data, size_t count) = 0;
  virtual absl::Status AllReduceMaxHost(int64_t* data, size_t count) = 0;
  // Copies `bytes` bytes of host memory at `data` from rank `root` to every rank.
  virtual absl::Status Broadcast(void* data, size_t bytes, int root) = 0;
  // Sends `bytes` bytes of host memory to rank `peer` / receives them from it (the sizes must
  // match). A Send completes once the peer has taken the bytes.
  virtual absl::Status Send(const void* data, size_t bytes, int peer) = 0;
  virtual absl::Status Recv(void* data, size_t bytes, int peer) = 0;
};

// Connects this rank to the group through `store` (which must outlive the call only).
// INVALID_ARGUMENT for a bad rank, world or backend name; FAILED_PRECONDITION for nccl in a
// build without CUDA or on a machine without a GPU; DEADLINE_EXCEEDED when a peer does not
// arrive within the connect timeout; UNAVAILABLE for connection failures; ABORTED (from the
// store) when the group changed while waiting.
absl::StatusOr<std::unique_ptr<Communicator>> Connect(const CommunicatorOptions& options,
                                                      KeyValueStore* store);

// "auto" -> "nccl" when the model runs on a GPU, "gloo" otherwise; "gloo" and "nccl" stay;
// INVALID_ARGUMENT for anything else.
absl::StatusOr<std::string> ResolveBackend(const std::string& backend, bool model_on_gpu);

// The connect timeout options ask for (options.connect_timeout, or options.timeout when unset).
absl::Duration ConnectTimeout(const CommunicatorOptions& options);

}  // namespace fsc::dist

#endif  // FSC_CORE_DIST_COMMUNICATOR_H_
