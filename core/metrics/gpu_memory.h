// fsc_gpu_memory_bytes{device}: the GPU memory LibTorch's CUDA caching allocator has allocated in
// this process, read at scrape time (a collect hook of the default registry). The query lives in
// gpu_memory_cuda.cc, compiled only where LibTorch has CUDA (FSC_WITH_CUDA); elsewhere there is
// nothing to read and no series is exported.
#ifndef FSC_CORE_METRICS_GPU_MEMORY_H_
#define FSC_CORE_METRICS_GPU_MEMORY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fsc::metrics {

// Bytes allocated on CUDA device `index` by this process; nullopt on a build without CUDA or
// for a device that cannot be queried.
std::optional<int64_t> CudaAllocatedBytes(int index);

// "cuda:N": the device label value.
std::string GpuDeviceLabel(int index);

// Exports the allocated bytes of these CUDA devices from now on (once per process; later calls
// add devices). A no-op for an empty list.
void ExportGpuMemory(const std::vector<int>& device_indices);

}  // namespace fsc::metrics

#endif  // FSC_CORE_METRICS_GPU_MEMORY_H_
