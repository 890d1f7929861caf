// Mixed precision for one scope: turns LibTorch's autocast on for a device type (bf16 on CPUs with
// bf16 arithmetic, bf16/fp16 on CUDA) and restores the previous state on exit, dropping the
// cast-weight cache like Python's torch.autocast. Training (train_step) and inference
// (convert/swap_model, the int8 calibration pass) share it. It hides the API change of LibTorch
// 2.4, where the per-device calls moved behind a device-type argument.
//
//   {
//     model::AutocastScope autocast(device, at::kBFloat16);  // std::nullopt: no autocast
//     out = model->Forward(x);
//   }
#ifndef FSC_CORE_MODEL_AUTOCAST_SCOPE_H_
#define FSC_CORE_MODEL_AUTOCAST_SCOPE_H_

#include <torch/torch.h>

#include <optional>

namespace fsc::model {

class AutocastScope {
 public:
  // `dtype`: the reduced precision (at::kBFloat16 or at::kHalf), or nullopt for a scope that
  // changes nothing.
  AutocastScope(torch::Device device, std::optional<at::ScalarType> dtype);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
  bool cuda_ = false;
  bool was_enabled_ = false;
  at::ScalarType old_dtype_ = at::kBFloat16;
};

}  // namespace fsc::model

#endif  // FSC_CORE_MODEL_AUTOCAST_SCOPE_H_
