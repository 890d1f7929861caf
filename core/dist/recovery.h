// How the members of an elastic group get back to a shared state after losing a member
// (elastic.h), apart from the heavy elastic header so that flag parsing and the worker's task
// environment can name it without LibTorch.
#ifndef FSC_CORE_DIST_RECOVERY_H_
#define FSC_CORE_DIST_RECOVERY_H_

#include <string>

#include "absl/status/statusor.h"

namespace fsc::dist {

enum class Recovery {
  // Roll back to the restore point in memory; move state only to members that lack it.
  kInMemory,
  // TorchElastic + DDP, for comparison (bench/elastic_bench): every member reloads the last
  // disk checkpoint, and the source's weights go to every other member.
  kRestart,
};

// "memory" | "restart" (flags); INVALID_ARGUMENT naming both for anything else.
absl::StatusOr<Recovery> ParseRecovery(const std::string& name);

}  // namespace fsc::dist

#endif  // FSC_CORE_DIST_RECOVERY_H_
