// The version of the cluster's wire contract (proto/fsc.proto, the part after "The cluster").
// Every request carries it; a server refuses a request whose version is newer than the one it
// was built with (FAILED_PRECONDITION), so an old coordinator never misreads a new client.
#ifndef FSC_CORE_RPC_VERSION_H_
#define FSC_CORE_RPC_VERSION_H_

#include <cstdint>

namespace fsc::rpc {

inline constexpr uint32_t kClusterProtoVersion = 2;

// The oldest worker a coordinator takes work from. Version 2 named the alignments a task returns
// alignments.fsa (version 1: alignments.fsca), so an older worker's results would not be found.
inline constexpr uint32_t kOldestWorkerVersion = 2;

}  // namespace fsc::rpc

#endif  // FSC_CORE_RPC_VERSION_H_
