// Autocast on/off for a scope across LibTorch versions (see autocast_scope.h).
#include "core/model/autocast_scope.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

namespace fsc::model {

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define FSC_AUTOCAST_BY_DEVICE 1
#endif

AutocastScope::AutocastScope(torch::Device device, std::optional<at::ScalarType> dtype) {
  if (!dtype.has_value()) return;
  active_ = true;
  cuda_ = device.is_cuda();
#ifdef FSC_AUTOCAST_BY_DEVICE
  const at::DeviceType type = cuda_ ? at::kCUDA : at::kCPU;
  was_enabled_ = at::autocast::is_autocast_enabled(type);
  old_dtype_ = at::autocast::get_autocast_dtype(type);
  at::autocast::set_autocast_enabled(type, true);
  at::autocast::set_autocast_dtype(type, *dtype);
#else
  if (cuda_) {
    was_enabled_ = at::autocast::is_enabled();
    old_dtype_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_enabled(true);
    at::autocast::set_autocast_gpu_dtype(*dtype);
  } else {
    was_enabled_ = at::autocast::is_cpu_enabled();
    old_dtype_ = at::autocast::get_autocast_cpu_dtype();
    at::autocast::set_cpu_enabled(true);
    at::autocast::set_autocast_cpu_dtype(*dtype);
  }
#endif
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
#ifdef FSC_AUTOCAST_BY_DEVICE
  const at::DeviceType type = cuda_ ? at::kCUDA : at::kCPU;
  at::autocast::set_autocast_enabled(type, was_enabled_);
  at::autocast::set_autocast_dtype(type, old_dtype_);
#else
  if (cuda_) {
    at::autocast::set_enabled(was_enabled_);
    at::autocast::set_autocast_gpu_dtype(old_dtype_);
  } else {
    at::autocast::set_cpu_enabled(was_enabled_);
    at::autocast::set_autocast_cpu_dtype(old_dtype_);
  }
#endif
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
}

}  // namespace fsc::model
