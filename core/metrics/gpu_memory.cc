// fsc_gpu_memory_bytes through a Collectable; the CUDA query is in gpu_memory_cuda.cc.
#include "core/metrics/gpu_memory.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/metrics/exposition.h"
#include "core/metrics/standard_metrics.h"

namespace fsc::metrics {

#ifndef FSC_WITH_CUDA
std::optional<int64_t> CudaAllocatedBytes(int) { return std::nullopt; }
#endif

std::string GpuDeviceLabel(int index) { return absl::StrCat("cuda:", index); }

namespace {

// The devices' memory, read when collected.
class GpuMemoryCollector : public prometheus::Collectable {
 public:
  void AddDevices(const std::vector<int>& indices) {
    absl::MutexLock lock(&mu_);
    devices_.insert(indices.begin(), indices.end());
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::set<int> devices;
    {
      absl::MutexLock lock(&mu_);
      devices = devices_;
    }
    prometheus::MetricFamily family = GaugeFamily(kGpuMemoryBytes.name, kGpuMemoryBytes.help);
    for (int index : devices) {
      if (std::optional<int64_t> bytes = CudaAllocatedBytes(index)) {
        AddSample(&family, {{"device", GpuDeviceLabel(index)}}, static_cast<double>(*bytes));
      }
    }
    return {family};
  }

 private:
  mutable absl::Mutex mu_;
  std::set<int> devices_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

void ExportGpuMemory(const std::vector<int>& device_indices) {
  if (device_indices.empty()) return;
  static GpuMemoryCollector* collector = [] {
    auto* created = new GpuMemoryCollector();  // never destroyed: a scrape may run at exit
    Exposition::Default().Add(created);
    return created;
  }();
  collector->AddDevices(device_indices);
}

}  // namespace fsc::metrics
