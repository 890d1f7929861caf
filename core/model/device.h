// The LibTorch device a --device flag names, shared by training (train_step) and inference
// (convert/swap_model) so that both accept the same spellings and say the same when one is wrong.
#ifndef FSC_CORE_MODEL_DEVICE_H_
#define FSC_CORE_MODEL_DEVICE_H_

#include <torch/types.h>

#include <string>

#include "absl/status/statusor.h"

namespace fsc::model {

// "auto" (the first CUDA GPU when there is one, else the CPU), "cpu", "cuda" or "cuda:N".
// FAILED_PRECONDITION for a CUDA device when this build or machine has no usable GPU;
// INVALID_ARGUMENT naming the accepted spellings for anything else.
absl::StatusOr<torch::Device> ResolveDevice(const std::string& name);

}  // namespace fsc::model

#endif  // FSC_CORE_MODEL_DEVICE_H_
