// --device spellings -> torch::Device (see device.h).
#include "core/model/device.h"

#include <torch/cuda.h>

#include <exception>

#include "absl/strings/str_cat.h"

namespace fsc::model {

absl::StatusOr<torch::Device> ResolveDevice(const std::string& name) {
  if (name == "auto") {
    return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0)
                                       : torch::Device(torch::kCPU);
  }
  try {
    torch::Device device(name);
    if (device.is_cuda() && !torch::cuda::is_available()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "device ", name, " asked for, but this fsc has no usable CUDA GPU; use --device cpu"));
    }
    if (device.is_cpu() || device.is_cuda()) return device;
  } catch (const std::exception&) {
    // Not a device LibTorch knows: refused below, as one it knows but fsc does not use.
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown device \"", name, "\"; use auto, cpu, cuda or cuda:N"));
}

}  // namespace fsc::model
