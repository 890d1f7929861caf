// CUDA device discovery through LibTorch (works on CPU-only builds: it reports none).
#include "worker/gpu_info.h"

#include <torch/cuda.h>

#include "absl/strings/str_cat.h"

namespace fsc::worker {

std::vector<proto::GpuInfo> DetectGpus() {
  std::vector<proto::GpuInfo> gpus;
  if (!torch::cuda::is_available()) return gpus;
  const int64_t count = static_cast<int64_t>(torch::cuda::device_count());
  for (int64_t i = 0; i < count; ++i) {
    proto::GpuInfo gpu;
    gpu.set_index(static_cast<int32_t>(i));
    // LibTorch's C++ API has no device name or memory query without the CUDA runtime headers.
    gpu.set_name(absl::StrCat("cuda:", i));
    gpus.push_back(gpu);
  }
  return gpus;
}

}  // namespace fsc::worker
