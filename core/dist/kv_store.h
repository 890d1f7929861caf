// The rendezvous key-value store of a data-parallel group: where ranks publish their addresses
// (Gloo) or a unique id (NCCL) and find each other's. Two sides implement it: core/dist itself
// for processes on one machine (file_store.h: a folder they share) and the worker for the cluster
// over gRPC (worker/rendezvous_client.h: the coordinator's RendezvousService KvSet/KvGet).
// gloo_store.h adapts any store to gloo::rendezvous::Store, through which the Gloo backend
// connects.
//
// Keys are write-once per generation: a store belongs to one generation of the group, and keys
// of other generations are invisible to it, so a re-rendezvous never reads a stale address.
#ifndef FSC_CORE_DIST_KV_STORE_H_
#define FSC_CORE_DIST_KV_STORE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace fsc::dist {

class KeyValueStore {
 public:
  virtual ~KeyValueStore() = default;
  virtual absl::Status Set(const std::string& key, const std::string& value) = 0;
  // Waits until every key exists; DEADLINE_EXCEEDED after `timeout`; UNAVAILABLE/ABORTED when
  // the backing service is gone or the generation is over.
  virtual absl::StatusOr<std::vector<std::string>> Get(const std::vector<std::string>& keys,
                                                       absl::Duration timeout) = 0;
};

}  // namespace fsc::dist

#endif  // FSC_CORE_DIST_KV_STORE_H_
