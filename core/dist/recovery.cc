// Recovery names.
#include "core/dist/recovery.h"

#include "absl/strings/str_cat.h"

namespace fsc::dist {

absl::StatusOr<Recovery> ParseRecovery(const std::string& name) {
  if (name == "memory") return Recovery::kInMemory;
  if (name == "restart") return Recovery::kRestart;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown elastic recovery \"", name, "\" (memory or restart)"));
}

}  // namespace fsc::dist
