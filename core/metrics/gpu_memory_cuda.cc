// The CUDA half of gpu_memory.h: the device's memory in use, from the CUDA runtime. Compiled only
// where the CUDA toolkit is present (FSC_WITH_CUDA), with a CPU or a CUDA LibTorch alike, so it
// uses the runtime API rather than LibTorch's CUDA allocator headers (absent from CPU builds).
#include "core/metrics/gpu_memory.h"

#ifdef FSC_WITH_CUDA
#include <cuda_runtime.h>

namespace fsc::metrics {

std::optional<int64_t> CudaAllocatedBytes(int index) {
  int count = 0;
  if (index < 0 || cudaGetDeviceCount(&count) != cudaSuccess || index >= count) {
    return std::nullopt;
  }
  int previous = 0;
  if (cudaGetDevice(&previous) != cudaSuccess) return std::nullopt;
  size_t free_bytes = 0, total_bytes = 0;
  const bool ok = cudaSetDevice(index) == cudaSuccess &&
                  cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess;
  cudaSetDevice(previous);
  // A failed query must not take the process down; the series just keeps its last value.
  if (!ok) return std::nullopt;
  return static_cast<int64_t>(total_bytes - free_bytes);
}

}  // namespace fsc::metrics
#endif  // FSC_WITH_CUDA
