// Where things are: this executable, and the default locations of fsc's data folders, so
// commands work from any directory.
#ifndef FSC_CORE_UTIL_PATHS_H_
#define FSC_CORE_UTIL_PATHS_H_

#include <string>

#include "absl/status/statusor.h"

namespace fsc::util {

// This executable's path (/proc/self/exe).
absl::StatusOr<std::string> SelfExecutable();

// The pretrained models folder: $FSC_MODELS_DIR, else models/ of the checkout the running binary
// was built in (build/bin/fsc -> ./models), else ./models.
std::string DefaultModelsDir();

}  // namespace fsc::util

#endif  // FSC_CORE_UTIL_PATHS_H_
