// A model folder's manifest (fsc_model.json, see checkpoint.h) as a value, and its JSON, without
// LibTorch: the manifest comes from outside (a fetched job's model, a folder someone gives to
// convert or --resume), so it is parsed by a checked reader that can be fuzzed on its own.
#ifndef FSC_CORE_TRAIN_CHECKPOINT_MANIFEST_H_
#define FSC_CORE_TRAIN_CHECKPOINT_MANIFEST_H_

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "core/model/architecture.h"
#include "core/util/model_folder.h"

namespace fsc::train {

inline constexpr char kCheckpointFormat[] = "fsc-train-checkpoint";
inline constexpr int kCheckpointFormatVersion = 2;

struct CheckpointFile {
  std::string name;  // path inside the checkpoint folder: NAME or state/NAME
  int64_t bytes = 0;
  std::string sha256;
};

struct CheckpointManifest {
  int format_version = kCheckpointFormatVersion;
  std::string model;  // registry name (or a custom architecture's name)
  model::Architecture architecture;
  model::ModelOptions model_options;
  nlohmann::json config = nlohmann::json::object();  // the train options (trainer.h)
  int64_t iteration = 0;
  int64_t next_batch = 0;  // the loader's next batch index per side
  nlohmann::json loss_history = nlohmann::json::array();
  std::string torch_version;
  // Role ("weights", "optimizer") -> file; filled in by WriteCheckpoint.
  std::map<std::string, CheckpointFile> files;
};

// Layouts in manifests and train configs (core/model/architecture.h: validated when read).
using model::ArchitectureFromJson;
using model::ArchitectureToJson;
using model::SameArchitecture;

nlohmann::json ManifestToJson(const CheckpointManifest& manifest);
// INVALID_ARGUMENT (naming `what`) when the JSON is not an fsc checkpoint manifest of a format
// this build reads.
absl::StatusOr<CheckpointManifest> ManifestFromJson(const nlohmann::json& json,
                                                    const std::string& what);

}  // namespace fsc::train

#endif  // FSC_CORE_TRAIN_CHECKPOINT_MANIFEST_H_
