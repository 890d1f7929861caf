// DiffCheckpoints: max absolute and relative differences per tensor.
#include "core/train/model_diff.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "absl/strings/str_cat.h"
#include "core/train/checkpoint.h"
#include "core/util/status_macros.h"

namespace fsc::train {
namespace {

// Squared norms summed over the tensors compared so far (for overall_relative).
struct Norms {
  double diff = 0, a = 0, b = 0;
};

void Compare(const std::map<std::string, torch::Tensor>& a,
             const std::map<std::string, torch::Tensor>& b, const std::string& prefix,
             ModelDiff* diff, Norms* norms) {
  torch::NoGradGuard no_grad;
  for (const auto& [name, ta] : a) {
    auto it = b.find(name);
    if (it == b.end()) {
      diff->only_in_a.push_back(prefix + name);
      continue;
    }
    const torch::Tensor& tb = it->second;
    if (ta.sizes() != tb.sizes()) {
      diff->shape_mismatch.push_back(prefix + name);
      continue;
    }
    TensorDiff d;
    d.name = prefix + name;
    d.elements = ta.numel();
    if (d.elements > 0) {
      torch::Tensor fa = ta.to(torch::kFloat64), fb = tb.to(torch::kFloat64);
      torch::Tensor delta = fa - fb;
      d.max_abs = delta.abs().max().item<double>();
      d.max_ref = std::max(fa.abs().max().item<double>(), fb.abs().max().item<double>());
      const double nd = delta.square().sum().item<double>();
      const double na = fa.square().sum().item<double>(), nb = fb.square().sum().item<double>();
      norms->diff += nd;
      norms->a += na;
      norms->b += nb;
      const double ref = std::sqrt(std::max(na, nb));
      d.relative = ref > 0 ? std::sqrt(nd) / ref : (nd > 0 ? INFINITY : 0.0);
    }
    diff->max_abs = std::max(diff->max_abs, d.max_abs);
    diff->max_relative = std::max(diff->max_relative, d.relative);
    diff->tensors.push_back(std::move(d));
  }
  for (const auto& entry : b) {
    if (a.count(entry.first) == 0) diff->only_in_b.push_back(prefix + entry.first);
  }
}

}  // namespace

bool ModelDiff::Within(double tolerance, bool per_tensor) const {
  return only_in_a.empty() && only_in_b.empty() && shape_mismatch.empty() &&
         (per_tensor ? max_relative : overall_relative) <= tolerance;
}

absl::StatusOr<ModelDiff> DiffCheckpoints(const std::string& a, const std::string& b,
                                          bool optimizer) {
  FSC_ASSIGN_OR_RETURN(LoadedCheckpoint ca, ReadCheckpoint(a));
  FSC_ASSIGN_OR_RETURN(LoadedCheckpoint cb, ReadCheckpoint(b));
  ModelDiff diff;
  diff.a = a;
  diff.b = b;
  diff.iteration_a = ca.manifest.iteration;
  diff.iteration_b = cb.manifest.iteration;
  Norms norms;
  std::vector<std::string> roles = {"weights", "discriminators"};
  if (optimizer) roles.push_back("optimizer");
  for (const std::string& role : roles) {
    const bool in_a = ca.blobs.count(role) > 0, in_b = cb.blobs.count(role) > 0;
    if (!in_a && !in_b) continue;
    if (in_a != in_b) {
      (in_a ? diff.only_in_a : diff.only_in_b).push_back(role + ":*");
      continue;
    }
    FSC_ASSIGN_OR_RETURN(auto ta,
                         ParseTensors(ca.blobs.at(role), absl::StrCat(a, " (", role, ")")));
    FSC_ASSIGN_OR_RETURN(auto tb,
                         ParseTensors(cb.blobs.at(role), absl::StrCat(b, " (", role, ")")));
    Compare(ta, tb, role == "weights" ? "" : role + ":", &diff, &norms);
  }
  const double ref = std::sqrt(std::max(norms.a, norms.b));
  diff.overall_relative = ref > 0 ? std::sqrt(norms.diff) / ref : 0;
  return diff;
}

nlohmann::json ModelDiffToJson(const ModelDiff& diff, double tolerance, bool per_tensor) {
  nlohmann::json tensors = nlohmann::json::array();
  for (const TensorDiff& d : diff.tensors) {
    tensors.push_back({{"name", d.name},
                       {"elements", d.elements},
                       {"max_abs", d.max_abs},
                       {"max_ref", d.max_ref},
                       {"relative", d.relative}});
  }
  return {{"a", diff.a},
          {"b", diff.b},
          {"iteration_a", diff.iteration_a},
          {"iteration_b", diff.iteration_b},
          {"max_abs", diff.max_abs},
          {"max_relative", diff.max_relative},
          {"overall_relative", diff.overall_relative},
          {"tolerance", tolerance},
          {"per_tensor", per_tensor},
          {"within_tolerance", diff.Within(tolerance, per_tensor)},
          {"only_in_a", diff.only_in_a},
          {"only_in_b", diff.only_in_b},
          {"shape_mismatch", diff.shape_mismatch},
          {"tensors", tensors}};
}

}  // namespace fsc::train
