// Failure classification shared by every task kind.
#include "worker/task_env.h"

namespace fsc::worker {

bool IsRetryable(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kUnimplemented:
    case absl::StatusCode::kNotFound:
      return false;
    default:
      return true;
  }
}

}  // namespace fsc::worker
