// The whole training state as a value: the weights, the optimiser state, the discriminators
// (with a GAN) and the iteration, copied out of a live trainer. It is what a checkpoint stores,
// what an elastic group's survivors roll back to without the disk (Horovod-style commit /
// rollback: trainer.h), and what a member that lacks it receives from another.
//
// The digest identifies the state: SHA-256 over the iteration and every tensor's role, name,
// dtype, shape and bytes (in that order), so ranks that stepped in lock step hold states with
// equal digests and can tell, by comparing 32 bytes, that nothing needs to move between them.
// The loss history is carried along but not digested (its examples/s differ between ranks).
//
// On the wire a state is its layout (JSON: iteration, digest, history and each tensor's role,
// name, dtype and shape) followed by the tensors' bytes, which a receiver writes straight into
// tensors allocated from the layout (Spans) and then checks against the digest.
#ifndef FSC_CORE_TRAIN_TRAINING_STATE_H_
#define FSC_CORE_TRAIN_TRAINING_STATE_H_

#include <torch/torch.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/train/checkpoint.h"

namespace fsc::train {

struct TrainingState {
  int64_t iteration = 0;
  nlohmann::json loss_history = nlohmann::json::array();
  // Role ("weights", "optimizer", "discriminators") -> tensors: contiguous CPU copies.
  std::map<std::string, NamedTensors> roles;
  std::string digest;  // lower-case hex; see Seal

  int64_t bytes() const;  // the tensors' bytes
};

// Copies `roles` (live tensors on any device) into a state of `iteration`, sealed.
TrainingState CopyState(int64_t iteration, const nlohmann::json& loss_history,
                        const std::map<std::string, NamedTensors>& roles);

// The digest computed one tensor at a time, in layout order (role, then tensor order), so that
// a receiver hashes each tensor as soon as its bytes arrived, while the next ones are still on
// the way. The state's tensors' shapes must not change while it is used.
class StateHasher {
 public:
  explicit StateHasher(const TrainingState& state);
  ~StateHasher();
  // Hashes the next tensor (and its role's header before the role's first one).
  void Next();
  // After every tensor: the lower-case hex digest.
  std::string Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Computes and stores the digest.
void Seal(TrainingState* state);
// DATA_LOSS naming `what` when the tensors do not match the recorded digest.
absl::Status CheckDigest(const TrainingState& state, const std::string& what);

// The layout of a state (everything but the tensors' bytes), and a state allocated from one
// (tensors uninitialised, digest as recorded): DATA_LOSS naming `what` for a bad layout.
std::string StateLayout(const TrainingState& state);
absl::StatusOr<TrainingState> AllocateState(const std::string& layout, const std::string& what);

// The tensors' memory in layout order (role, then tensor order): read on a sender, written on
// a receiver.
std::vector<std::pair<void*, size_t>> StateSpans(TrainingState* state);

// A role's tensors by name (sharing storage), as the trainer's Load* functions take them.
std::map<std::string, torch::Tensor> TensorMap(const NamedTensors& tensors);

}  // namespace fsc::train

#endif  // FSC_CORE_TRAIN_TRAINING_STATE_H_
