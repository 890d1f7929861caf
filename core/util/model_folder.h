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

namespace fsc::util {

inline constexpr char kManifestFile[] = "fsc_model.json";
inline constexpr char kTrainingStateDir[] = "state";

// True for a path (relative to a model folder, '/'-separated) inside its training state.
inline bool IsTrainingStatePath(std::string_view path) {
  constexpr std::string_view prefix = "state/";
  return path.substr(0, prefix.size()) == prefix;
}

}  // namespace fsc::util

#endif  // FSC_CORE_UTIL_MODEL_FOLDER_H_
