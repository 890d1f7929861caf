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

struct TensorDiff {
  std::string name;
  int64_t elements = 0;
  double max_abs = 0;   // max |a - b|
  double max_ref = 0;   // max(max |a|, max |b|)
  double relative = 0;  // max_abs / max_ref (0 when both are all zeros)
};

struct ModelDiff {
  std::string a, b;  // the checkpoint folders
  int64_t iteration_a = 0, iteration_b = 0;
  std::vector<TensorDiff> tensors;  // tensors both have, in A's order
  std::vector<std::string> only_in_a, only_in_b, shape_mismatch;
  double max_abs = 0;       // over all tensors
  double max_relative = 0;  // over all tensors
  // Same tensor names and shapes, and max_relative <= tolerance.
  bool Within(double tolerance) const;
};

// Compares the "weights" of the checkpoints in `a` and `b` (model folders or snapshots), and with
// `optimizer` their optimiser state too (entries prefixed "optimizer:"). Errors of reading
// either checkpoint (NOT_FOUND, DATA_LOSS) name the folder.
absl::StatusOr<ModelDiff> DiffCheckpoints(const std::string& a, const std::string& b,
                                          bool optimizer);

nlohmann::json ModelDiffToJson(const ModelDiff& diff, double tolerance);

}  // namespace fsc::train

#endif  // FSC_CORE_TRAIN_MODEL_DIFF_H_
