// DiffCheckpoints: max absolute and relative differences per tensor.
#include "core/train/model_diff.h"

#include <torch/torch.h>

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "core/train/checkpoint.h"
#include "core/util/status_macros.h"

namespace fsc::train {
namespace {

void Compare(const std::map<std::string, torch::Tensor>& a,
             const std::map<std::string, torch::Tensor>& b, const std::string& prefix,
             ModelDiff* diff) {
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
      d.max_abs = (fa - fb).abs().max().item<double>();
      d.max_ref = std::max(fa.abs().max().item<double>(), fb.abs().max().item<double>());
      d.relative = d.max_ref > 0 ? d.max_abs / d.max_ref : (d.max_abs > 0 ? INFINITY : 0.0);
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

bool ModelDiff::Within(double tolerance) const {
  return only_in_a.empty() && only_in_b.empty() && shape_mismatch.empty() &&
         max_relative <= tolerance;
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
    Compare(ta, tb, role == "weights" ? "" : role + ":", &diff);
  }
  return diff;
}

nlohmann::json ModelDiffToJson(const ModelDiff& diff, double tolerance) {
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
          {"tolerance", tolerance},
          {"within_tolerance", diff.Within(tolerance)},
          {"only_in_a", diff.only_in_a},
          {"only_in_b", diff.only_in_b},
          {"shape_mismatch", diff.shape_mismatch},
          {"tensors", tensors}};
}

}  // namespace fsc::train
