// The NCCL backend of Communicator (nccl_communicator_cuda.cc, compiled when FSC_WITH_CUDA):
// rank 0 makes the NCCL unique id and publishes it through the KeyValueStore, every rank joins
// with ncclCommInitRank on its GPU. Collectives run on the communicator's own CUDA stream; the
// host waits for them by polling the stream and ncclCommGetAsyncError, and aborts the NCCL
// communicator (ncclCommAbort) when the timeout passes, so a dead peer is DEADLINE_EXCEEDED
// instead of a hang. Host-memory collectives go through a small device staging buffer.
#ifndef FSC_CORE_DIST_NCCL_COMMUNICATOR_H_
#define FSC_CORE_DIST_NCCL_COMMUNICATOR_H_

#include <memory>

#include "core/dist/communicator.h"

namespace fsc::dist {

// True in builds with the CUDA/NCCL paths (FSC_WITH_CUDA).
bool NcclCompiledIn();

// Connects (see Connect in communicator.h). FAILED_PRECONDITION without FSC_WITH_CUDA or
// without a usable GPU options.cuda_device.
absl::StatusOr<std::unique_ptr<Communicator>> ConnectNccl(const CommunicatorOptions& options,
                                                          KeyValueStore* store);

}  // namespace fsc::dist

#endif  // FSC_CORE_DIST_NCCL_COMMUNICATOR_H_
