// Fused Adam: one pass over each parameter per step.
#include "core/train/adam.h"

#include <ATen/Parallel.h>

#include <cmath>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace fsc::train {
namespace {

// Elements per parallel chunk: large enough that thread hand-off costs nothing.
constexpr int64_t kGrain = 1 << 15;

bool FusedEligible(const torch::Tensor& p, const torch::Tensor& g) {
  return p.device().is_cpu() && p.scalar_type() == torch::kFloat32 &&
         g.scalar_type() == torch::kFloat32 && p.is_non_overlapping_and_dense() &&
         g.strides() == p.strides() && g.sizes() == p.sizes();
}

}  // namespace

Adam::Adam(std::vector<std::pair<std::string, torch::Tensor>> params, const AdamOptions& options)
    : params_(std::move(params)), options_(options) {
  torch::NoGradGuard no_grad;
  for (const auto& [name, p] : params_) {
    // zeros_like keeps the parameter's strides (channels-last stays channels-last), so the
    // fused loop walks p, m and v in the same element order.
    exp_avg_.push_back(torch::zeros_like(p));
    exp_avg_sq_.push_back(torch::zeros_like(p));
  }
}

void Adam::ZeroGrad() {
  for (auto& [name, p] : params_) {
    if (p.grad().defined()) p.mutable_grad() = torch::Tensor();
  }
}

void Adam::Step() {
  torch::NoGradGuard no_grad;
  ++step_;
  const double b1 = options_.beta1, b2 = options_.beta2;
  const double bias1 = 1.0 - std::pow(b1, static_cast<double>(step_));
  const double bias2_sqrt = std::sqrt(1.0 - std::pow(b2, static_cast<double>(step_)));
  const double step_size = options_.lr / bias1;
  for (size_t i = 0; i < params_.size(); ++i) {
    torch::Tensor& p = params_[i].second;
    torch::Tensor g = p.grad();
    if (!g.defined()) g = torch::zeros_like(p);
    torch::Tensor& m = exp_avg_[i];
    torch::Tensor& v = exp_avg_sq_[i];
    if (!FusedEligible(p, g)) {
      // Layout mismatch (rare) or GPU / non-float32: torch's own formula.
      if (p.device().is_cpu() && p.scalar_type() == torch::kFloat32 &&
          p.is_non_overlapping_and_dense()) {
        torch::Tensor same = torch::empty_like(p);
        same.copy_(g);
        g = same;
      } else {
        m.mul_(b1).add_(g, 1 - b1);
        v.mul_(b2).addcmul_(g, g, 1 - b2);
        torch::Tensor denom = (v.sqrt() / bias2_sqrt).add_(options_.epsilon);
        p.addcdiv_(m, denom, -step_size);
        continue;
      }
    }
    float* pp = p.data_ptr<float>();
    const float* gp = g.data_ptr<float>();
    float* mp = m.data_ptr<float>();
    float* vp = v.data_ptr<float>();
    const float fb1 = static_cast<float>(b1), fb1c = static_cast<float>(1 - b1);
    const float fb2 = static_cast<float>(b2), fb2c = static_cast<float>(1 - b2);
    const float fbias2 = static_cast<float>(bias2_sqrt);
    const float feps = static_cast<float>(options_.epsilon);
    const float fstep = static_cast<float>(step_size);
    at::parallel_for(0, p.numel(), kGrain, [&](int64_t begin, int64_t end) {
      for (int64_t k = begin; k < end; ++k) {
        const float grad = gp[k];
        const float mk = fb1 * mp[k] + fb1c * grad;
        const float vk = fb2 * vp[k] + fb2c * grad * grad;
        mp[k] = mk;
        vp[k] = vk;
        pp[k] -= fstep * mk / (std::sqrt(vk) / fbias2 + feps);
      }
    });
  }
}

std::vector<std::pair<std::string, torch::Tensor>> Adam::StateTensors(
    const std::string& prefix) const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  out.emplace_back(prefix + "step", torch::tensor(step_, torch::kInt64));
  for (size_t i = 0; i < params_.size(); ++i) {
    out.emplace_back(absl::StrCat(prefix, params_[i].first, ".exp_avg"), exp_avg_[i]);
    out.emplace_back(absl::StrCat(prefix, params_[i].first, ".exp_avg_sq"), exp_avg_sq_[i]);
  }
  return out;
}

absl::Status Adam::LoadState(const std::map<std::string, torch::Tensor>& tensors,
                             const std::string& prefix, const std::string& what) {
  auto find = [&](const std::string& key,
                  const torch::Tensor& like) -> absl::StatusOr<torch::Tensor> {
    auto it = tensors.find(key);
    if (it == tensors.end()) {
      return absl::FailedPreconditionError(
          absl::StrCat(what, ": optimiser state \"", key,
                       "\" is missing; the checkpoint is from another model or configuration"));
    }
    if (like.defined() && it->second.sizes() != like.sizes()) {
      return absl::FailedPreconditionError(absl::StrCat(
          what, ": optimiser state \"", key, "\" has shape ", c10::str(it->second.sizes()),
          " where this model needs ", c10::str(like.sizes())));
    }
    return it->second;
  };
  // Check everything before changing anything.
  auto step = find(prefix + "step", torch::Tensor());
  if (!step.ok()) return step.status();
  std::vector<torch::Tensor> m, v;
  for (size_t i = 0; i < params_.size(); ++i) {
    auto mi = find(absl::StrCat(prefix, params_[i].first, ".exp_avg"), exp_avg_[i]);
    if (!mi.ok()) return mi.status();
    auto vi = find(absl::StrCat(prefix, params_[i].first, ".exp_avg_sq"), exp_avg_sq_[i]);
    if (!vi.ok()) return vi.status();
    m.push_back(*mi);
    v.push_back(*vi);
  }
  torch::NoGradGuard no_grad;
  step_ = step->item<int64_t>();
  for (size_t i = 0; i < params_.size(); ++i) {
    exp_avg_[i].copy_(m[i]);
    exp_avg_sq_[i].copy_(v[i]);
  }
  return absl::OkStatus();
}

}  // namespace fsc::train
