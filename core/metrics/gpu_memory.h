// fsc_gpu_memory_bytes{device}: the memory in use on each GPU this process works on (the CUDA
// runtime's total minus free: on a GPU given to one trainer or worker, that process's use plus
// the driver's), read at scrape time (a collector in Exposition::Default()). The query lives in
// gpu_memory_cuda.cc, compiled only where the CUDA toolkit is (FSC_WITH_CUDA); elsewhere there
// is nothing to read and no series is exported.
#ifndef FSC_CORE_METRICS_GPU_MEMORY_H_
#define FSC_CORE_METRICS_GPU_MEMORY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fsc::metrics {

// Bytes in use on CUDA device `index`; nullopt on a build without CUDA, on a machine without
// that device, or when the query fails.
std::optional<int64_t> CudaAllocatedBytes(int index);

// "cuda:N": the device label value.
std::string GpuDeviceLabel(int index);

// Exports the allocated bytes of these CUDA devices from now on (once per process; later calls
// add devices). A no-op for an empty list.
void ExportGpuMemory(const std::vector<int>& device_indices);

}  // namespace fsc::metrics

#endif  // FSC_CORE_METRICS_GPU_MEMORY_H_
