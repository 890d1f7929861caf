// The NCCL backend where the build has no CUDA/NCCL paths: refused with a clear message. With
// FSC_WITH_CUDA the real one is nccl_communicator_cuda.cc.
#include "core/dist/nccl_communicator.h"

#ifndef FSC_WITH_CUDA

namespace fsc::dist {

bool NcclCompiledIn() { return false; }

absl::StatusOr<std::unique_ptr<Communicator>> ConnectNccl(const CommunicatorOptions&,
                                                          KeyValueStore*) {
  return absl::FailedPreconditionError(
      "the nccl backend is not in this build (it was configured without the CUDA toolkit's "
      "NCCL; rebuild with FSC_CUDA=ON and /usr/local/cuda, or use --backend gloo)");
}

}  // namespace fsc::dist

#endif  // FSC_WITH_CUDA
