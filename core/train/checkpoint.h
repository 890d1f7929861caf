// Training checkpoints: a model folder's weights, optimiser state and manifest, written so that a
// crash at any moment leaves the previous checkpoint or the new one, never a mix.
//
// Layout of a model folder (format 2; model_folder.h names its parts):
//   fsc_model.json              the manifest: format version, model name, architecture and
//                               options, the train config, iteration, loader position, loss
//                               history, and for each data file its name, size and SHA-256
//   weights_000250.pt           named parameters and buffers (torch::serialize archive)
//   state/optimizer_000250.pt   the training state, apart from the weights (convert and a
//   state/discriminators_...pt  fetched model need only the weights): optimiser state(s), Adam
//                               moments and step counts (adam.h), and a GAN's discriminators
//   snapshots/iter_025000/      older checkpoints kept whole (same files)
// Format 1 (every data file beside the manifest) is still read.
// Writing: the data files get names of their own (by iteration) and are each written atomically,
// then the manifest is renamed over the old one (util::WriteFileAtomically): that rename is the
// commit point. Files the new manifest no longer names are removed afterwards. Snapshots are
// made as a temporary folder renamed into place, with hard links to the data files where the
// file system allows (no extra space), and only the newest `keep_snapshots` are kept.
// Reading verifies before anything is used: the manifest parses and has this format, every data
// file exists, has the recorded size (else: truncated) and SHA-256 (else: corrupted).
//
// Errors name the file: NOT_FOUND (no checkpoint there), DATA_LOSS (truncated or corrupted
// file), INVALID_ARGUMENT (not an fsc checkpoint, or a newer format), FAILED_PRECONDITION (a
// checkpoint of another model or architecture than the one it is loaded into).
#ifndef FSC_CORE_TRAIN_CHECKPOINT_H_
#define FSC_CORE_TRAIN_CHECKPOINT_H_

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/model/face_swap_model.h"
#include "core/train/checkpoint_manifest.h"
#include "core/util/model_folder.h"

namespace fsc::train {

// The roles of a checkpoint's data files. Every role but the weights is training state.
inline constexpr char kWeightsRole[] = "weights";
inline constexpr char kOptimizerRole[] = "optimizer";
inline constexpr char kDiscriminatorsRole[] = "discriminators";

// The file of `role` at `iteration`, relative to the model folder.
std::string CheckpointFileName(const std::string& role, int64_t iteration);

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// Every parameter and buffer of `module` by its dotted name, in registration order.
NamedTensors ModuleTensors(const torch::nn::Module& module);

// Tensors <-> bytes of a torch::serialize archive (tensors are saved as they are, on the CPU).
absl::StatusOr<std::string> SerializeTensors(const NamedTensors& tensors);
// DATA_LOSS naming `what` when the bytes are not a readable archive.
absl::StatusOr<std::map<std::string, torch::Tensor>> ParseTensors(const std::string& bytes,
                                                                  const std::string& what);

// Copies `tensors` into `module`'s parameters and buffers, keeping each one's device and memory
// format. FAILED_PRECONDITION naming `what` and the entry when one is missing, has another shape
// or the archive holds entries the module lacks (another architecture); nothing changes then.
absl::Status RestoreModule(torch::nn::Module& module,
                           const std::map<std::string, torch::Tensor>& tensors,
                           const std::string& what);

struct CheckpointWriteOptions {
  bool snapshot = false;   // also keep this checkpoint under snapshots/iter_NNNNNN/
  int keep_snapshots = 3;  // snapshots kept (oldest removed first); 0 keeps none
};

// Writes a checkpoint of iteration manifest.iteration into `dir` (created if missing). `blobs`:
// role -> file contents; each becomes CheckpointFileName(role, iteration). Returns the manifest
// as written.
absl::StatusOr<CheckpointManifest> WriteCheckpoint(const std::string& dir,
                                                   CheckpointManifest manifest,
                                                   const std::map<std::string, std::string>& blobs,
                                                   const CheckpointWriteOptions& options = {});

struct LoadedCheckpoint {
  std::string dir;
  CheckpointManifest manifest;
  std::map<std::string, std::string> blobs;  // role -> verified file contents
};

// True when `dir` holds a manifest (valid or not).
bool HasCheckpoint(const std::string& dir);

// What ReadCheckpoint reads: everything, or the weights alone (a folder fetched without its
// training state has only those).
enum class CheckpointScope { kAll, kWeights };

// Reads and verifies the checkpoint in `dir` (a model folder or one of its snapshots). With
// kAll, a folder whose training state is missing is FAILED_PRECONDITION saying so (it holds a
// model to convert with, not one to resume).
absl::StatusOr<LoadedCheckpoint> ReadCheckpoint(const std::string& dir,
                                                CheckpointScope scope = CheckpointScope::kAll);

// The snapshot folders of a model folder, oldest first.
std::vector<std::string> ListSnapshots(const std::string& dir);

}  // namespace fsc::train

#endif  // FSC_CORE_TRAIN_CHECKPOINT_H_
