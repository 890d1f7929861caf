// Bucketed gradient all-reduce overlapped with backward, as DDP does it.
//
// The parameters of each gradient group ("model", and with a GAN "discriminators", in the order
// TrainOptions::gradient_hook passes their gradients) are packed into buckets of about
// `bucket_bytes`, in REVERSE registration order: backward produces the last layers' gradients
// first, so the first bucket fills first. A per-parameter autograd hook copies each gradient,
// multiplied by this rank's weight, into its bucket's flat buffer the moment backward produces
// it; a full bucket is handed to a communication thread, which all-reduces (sums) the buckets
// strictly in bucket order (the same order on every rank, which is what matches collectives
// between ranks) while backward goes on. Finish (the gradient hook, called after backward)
// fills in parameters that got no gradient, waits for the group's remaining buckets and writes
// the reduced gradients back into the parameters' .grad.
//
// Weighting: each rank's loss is a mean over its own rows of the global batch, so the global
// mean gradient is sum_r (rows_r / G) · grad_r. With weight = rows_r / G the sum all-reduce gives
// exactly that, also when the world size does not divide G (uneven shards).
#ifndef FSC_CORE_DIST_GRADIENT_REDUCER_H_
#define FSC_CORE_DIST_GRADIENT_REDUCER_H_

#include <torch/torch.h>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/dist/communicator.h"

namespace fsc::dist {

// Parameters of each gradient group, in the order the gradient hook passes their gradients.
using GradientGroups = std::vector<std::pair<std::string, std::vector<torch::Tensor>>>;

struct ReducerStats {
  double wait_seconds = 0;       // Finish blocked on all-reduces (the part not hidden)
  double allreduce_seconds = 0;  // time the communication thread spent in all-reduces
  int64_t bytes = 0;             // bytes all-reduced
  int64_t buckets = 0;           // buckets all-reduced
};

// One bucket: parameters [index...] of a group and where each lives in the flat buffer.
struct BucketLayout {
  std::vector<int> params;       // indexes into the group's parameter list, in bucket order
  std::vector<int64_t> offsets;  // element offset of each in the flat buffer
  int64_t elements = 0;
};

// The buckets of one group's parameters (reverse order, closed once >= bucket_bytes).
std::vector<BucketLayout> PlanBuckets(const std::vector<torch::Tensor>& params,
                                      int64_t bucket_bytes);

class GradientReducer {
 public:
  // `comm` must outlive the reducer (or its Rebind). INVALID_ARGUMENT for bucket_bytes < 1 or a
  // parameter that is not float32.
  static absl::StatusOr<std::unique_ptr<GradientReducer>> Create(Communicator* comm,
                                                                 const GradientGroups& groups,
                                                                 int64_t bucket_bytes);
  // Removes the hooks and stops the communication thread (after its current all-reduce).
  ~GradientReducer();
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  // Moves the reducer to another communicator (elastic training: the next generation, whose
  // world may differ). Waits for an all-reduce in flight on the old one to end, then forgets the
  // old one's error, a step's partial buckets and the stats; the buckets' memory and the autograd
  // hooks stay (allocating the buckets of a large model takes seconds). nullptr parks the
  // reducer: buckets wait until the next Rebind. `comm` must outlive its use (until the next
  // Rebind or the reducer's end). Call between steps.
  void Rebind(Communicator* comm);

  // This rank's share of the global batch (rows / global rows); 1/world for even shards.
  void set_weight(double weight);
  // false: full buckets wait for Finish instead of being all-reduced during backward (the same
  // collectives, not overlapped; for measuring what the overlap hides).
  void set_overlap(bool overlap);

  // The gradient hook: waits for `group`'s buckets and writes the reduced gradients into
  // `grads` (the group's gradients in order). The all-reduce's error (DEADLINE_EXCEEDED /
  // UNAVAILABLE: a peer is gone) ends the reducer: every later call fails the same way.
  absl::Status Finish(const std::string& group, const std::vector<torch::Tensor>& grads);

  // Stats accumulated since the last call.
  ReducerStats TakeStats();

  const std::vector<BucketLayout>& buckets(int group) const { return groups_[group].buckets; }

 private:
  struct Bucket {
    BucketLayout layout;
    torch::Tensor flat;         // float32, the parameters' device
    std::vector<bool> arrived;  // per entry of layout.params, this step
    int missing = 0;            // entries not arrived yet this step
    bool full = false;          // every entry arrived
    bool ready = false;         // handed to the communication thread
    bool done = false;          // reduced (or failed)
  };
  struct Group {
    std::string name;
    std::vector<torch::Tensor> params;
    std::vector<BucketLayout> buckets;  // layouts (also in Bucket) for buckets()
    std::vector<std::unique_ptr<Bucket>> state;
    std::vector<std::pair<int, int>> where;  // param -> (bucket, entry)
  };

  explicit GradientReducer(Communicator* comm) : comm_(comm) {}
  // Autograd hook of parameter `param` of group `group`.
  void OnGradient(int group, int param, const torch::Tensor& grad);
  // Copies (scaled) `grad` into its slot; mu_ held. Marks the bucket ready when full.
  void Store(int group, int param, const torch::Tensor& grad);
  void CommLoop();
  void ResetGroup(Group& g);
  // Points the comm thread's cursor at the first bucket of the first group with parameters.
  void ResetCursor();

  Communicator* comm_;          // nullptr: parked (Rebind)
  bool in_collective_ = false;  // the comm thread is inside comm_->AllReduceSum
  std::vector<Group> groups_;
  std::vector<std::pair<torch::Tensor, unsigned>> hooks_;

  std::mutex mu_;
  std::condition_variable cv_;
  double weight_ = 1.0;
  bool overlap_ = true;
  int cursor_group_ = 0, cursor_bucket_ = 0;  // the next bucket the comm thread reduces
  bool stop_ = false;
  absl::Status error_;
  ReducerStats stats_;
  std::thread comm_thread_;
};

}  // namespace fsc::dist

#endif  // FSC_CORE_DIST_GRADIENT_REDUCER_H_
