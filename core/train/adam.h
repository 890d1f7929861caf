// Adam (Kingma & Ba 2015) for fsc's trainer, with Faceswap 3's defaults (lr 5e-5, β 0.9/0.999,
// ε 1e-7), written here instead of torch::optim::Adam for two reasons:
//  - speed: on the CPU the update is memory-bound (82 M parameters for "original"), and
//    torch::optim::Adam makes about seven passes over parameter-sized tensors per step; this one
//    makes one fused pass (read p, g, m, v; write p, m, v) split over the intra-op threads;
//  - a checkpoint format of its own: the moments are saved by parameter name (StateTensors),
//    independent of LibTorch's optimiser serialisation, which differs between versions.
// The update is torch's (no weight decay, no amsgrad):
//   m = β1 m + (1 − β1) g;  v = β2 v + (1 − β2) g²;
//   p -= lr / (1 − β1^t) · m / (sqrt(v) / sqrt(1 − β2^t) + ε)
// Elementwise and in a fixed order per element, so the result does not depend on the thread count.
// Tensors on a GPU (or of another dtype than float32) take the same formula with torch ops.
#ifndef FSC_CORE_TRAIN_ADAM_H_
#define FSC_CORE_TRAIN_ADAM_H_

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace fsc::train {

struct AdamOptions {
  double lr = 5e-5;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-7;
};

class Adam {
 public:
  // `params`: (name, parameter) pairs in a fixed order; the names key the saved state.
  Adam(std::vector<std::pair<std::string, torch::Tensor>> params, const AdamOptions& options);

  // Clears every parameter's gradient (sets it undefined, as zero_grad(set_to_none)).
  void ZeroGrad();
  // One update from the parameters' current gradients (an undefined gradient counts as zero but
  // still advances the moments, so that every parameter shares one step count).
  void Step();

  int64_t step_count() const { return step_; }
  const AdamOptions& options() const { return options_; }
  void set_lr(double lr) { options_.lr = lr; }
  const std::vector<std::pair<std::string, torch::Tensor>>& params() const { return params_; }

  // The state as named tensors: "<prefix>step", "<prefix><name>.exp_avg", "<name>.exp_avg_sq".
  std::vector<std::pair<std::string, torch::Tensor>> StateTensors(const std::string& prefix) const;
  // Restores what StateTensors saved. FAILED_PRECONDITION naming the entry when one is missing or
  // has another shape (`what` names the file for the message); nothing changes then.
  absl::Status LoadState(const std::map<std::string, torch::Tensor>& tensors,
                         const std::string& prefix, const std::string& what);

 private:
  std::vector<std::pair<std::string, torch::Tensor>> params_;
  std::vector<torch::Tensor> exp_avg_, exp_avg_sq_;
  AdamOptions options_;
  int64_t step_ = 0;
};

}  // namespace fsc::train

#endif  // FSC_CORE_TRAIN_ADAM_H_
