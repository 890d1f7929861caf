// Compares the weights of two checkpoints tensor by tensor (`fsc model diff A B`): how far apart
// two trainings ended, e.g. a 2-rank data-parallel run against a 1-rank run of the same global
// batch, where the only differences are float32 summation order.
#ifndef FSC_CORE_TRAIN_MODEL_DIFF_H_
#define FSC_CORE_TRAIN_MODEL_DIFF_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace fsc::train {

// Relative differences are norm ratios, ||a - b||_2 / max(||a||_2, ||b||_2), as usual for
// comparing tensors: a ratio of maxima would let a single element near a sign change (an Adam
// update of ±lr for a gradient within float noise of zero) decide for the whole tensor.
struct TensorDiff {
  std::string name;
  int64_t elements = 0;
  double max_abs = 0;   // max |a - b|
  double max_ref = 0;   // max(max |a|, max |b|)
  double relative = 0;  // ||a - b|| / max(||a||, ||b||) (0 when both are all zeros)
};

struct ModelDiff {
  std::string a, b;  // the checkpoint folders
  int64_t iteration_a = 0, iteration_b = 0;
  std::vector<TensorDiff> tensors;  // tensors both have, in A's order
  std::vector<std::string> only_in_a, only_in_b, shape_mismatch;
  double max_abs = 0;           // over all tensors
  double max_relative = 0;      // the largest per-tensor relative difference
  double overall_relative = 0;  // ||A - B|| / max(||A||, ||B||) over all tensors together
  // Same tensor names and shapes, and overall_relative <= tolerance (with per_tensor: every
  // tensor's relative difference). Per tensor is stricter than float32 can promise between two
  // summation orders: a bias that starts at zero holds a few Adam steps of ±lr, and the same
  // training run with 1 and 2 LibTorch threads already differs there by ~1e-3 relative.
  bool Within(double tolerance, bool per_tensor = false) const;
};

// Compares the "weights" of the checkpoints in `a` and `b` (model folders or snapshots), and with
// `optimizer` their optimiser state too (entries prefixed "optimizer:"). Errors of reading
// either checkpoint (NOT_FOUND, DATA_LOSS) name the folder.
absl::StatusOr<ModelDiff> DiffCheckpoints(const std::string& a, const std::string& b,
                                          bool optimizer);

nlohmann::json ModelDiffToJson(const ModelDiff& diff, double tolerance, bool per_tensor);

}  // namespace fsc::train

#endif  // FSC_CORE_TRAIN_MODEL_DIFF_H_
