// fsc_gpu_memory_bytes through a collect hook; the CUDA query is in gpu_memory_cuda.cc.
#include "core/metrics/gpu_memory.h"

#include <mutex>
#include <set>

#include "absl/strings/str_cat.h"
#include "core/metrics/registry.h"
#include "core/metrics/standard_metrics.h"

namespace fsc::metrics {

#ifndef FSC_WITH_CUDA
std::optional<int64_t> CudaAllocatedBytes(int) { return std::nullopt; }
#endif

std::string GpuDeviceLabel(int index) { return absl::StrCat("cuda:", index); }

void ExportGpuMemory(const std::vector<int>& device_indices) {
  if (device_indices.empty()) return;
  static std::mutex mu;
  static std::set<int>* devices = nullptr;  // never destroyed: the hook may run at exit
  std::lock_guard<std::mutex> lock(mu);
  if (devices == nullptr) {
    devices = new std::set<int>();
    Registry::Default().AddCollectHook([] {
      std::set<int> now;
      {
        std::lock_guard<std::mutex> hook_lock(mu);
        now = *devices;
      }
      for (int index : now) {
        std::optional<int64_t> bytes = CudaAllocatedBytes(index);
        if (bytes) {
          Standard()
              .gpu_memory_bytes->WithLabels({GpuDeviceLabel(index)})
              .Set(static_cast<double>(*bytes));
        }
      }
    });
  }
  devices->insert(device_indices.begin(), device_indices.end());
}

}  // namespace fsc::metrics
