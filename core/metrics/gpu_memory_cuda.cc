// The CUDA half of gpu_memory.h: LibTorch's caching allocator statistics. Compiled into the build
// only when LibTorch has CUDA (FSC_WITH_CUDA); on a CPU build this file is empty.
#include "core/metrics/gpu_memory.h"

#ifdef FSC_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <torch/cuda.h>

#include <exception>

namespace fsc::metrics {

std::optional<int64_t> CudaAllocatedBytes(int index) {
  try {
    if (index < 0 || static_cast<size_t>(index) >= torch::cuda::device_count()) {
      return std::nullopt;
    }
    namespace allocator = c10::cuda::CUDACachingAllocator;
    const allocator::DeviceStats stats = allocator::getDeviceStats(index);
    return stats.allocated_bytes[static_cast<size_t>(allocator::StatType::AGGREGATE)].current;
  } catch (const std::exception&) {
    // A scrape must not take the process down; the series just keeps its last value.
    return std::nullopt;
  }
}

}  // namespace fsc::metrics
#endif  // FSC_WITH_CUDA
