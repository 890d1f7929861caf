// The names inside a model folder that programs without LibTorch need too (the coordinator picks
// a convert task's inputs by them, `fsc fetch` leaves the training state out by them), so they
// live in the bottom layer rather than in core/train:
//
//   fsc_model.json                 the manifest (checkpoint.h)
//   weights_NNNNNN.pt              the weights: all that convert needs
//   state/optimizer_NNNNNN.pt      the training state: optimiser moments, discriminators; only
//   state/discriminators_NNNNNN.pt   training (and a bit-exact --resume) needs it, and it is
//                                  twice the weights' size
//   preview.png, timelapse/, snapshots/
#ifndef FSC_CORE_UTIL_MODEL_FOLDER_H_
#define FSC_CORE_UTIL_MODEL_FOLDER_H_

#include <string_view>

#include "core/util/artifact_names.h"

namespace fsc::util {

inline constexpr char kManifestFile[] = "fsc_model.json";
inline constexpr char kTrainingStateDir[] = "state";

// True when the '/'-separated relative `path` lies inside the folder `folder`.
inline bool InFolder(std::string_view path, std::string_view folder) {
  return path.size() > folder.size() && path.substr(0, folder.size()) == folder &&
         path[folder.size()] == '/';
}

// True for a path (relative to a model folder, '/'-separated) inside its training state.
inline bool IsTrainingStatePath(std::string_view path) { return InFolder(path, kTrainingStateDir); }

// True for a path among a train task's or job's outputs (relative to them, '/'-separated) inside
// the training state of the model folder they return (kTaskModelFolder): what a convert task and
// `fsc fetch` leave out.
inline bool IsModelTrainingStatePath(std::string_view path) {
  constexpr std::string_view model = kTaskModelFolder;
  return InFolder(path, model) && IsTrainingStatePath(path.substr(model.size() + 1));
}

}  // namespace fsc::util

#endif  // FSC_CORE_UTIL_MODEL_FOLDER_H_
