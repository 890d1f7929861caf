// JobStateName.
#include "core/rpc/job_names.h"

namespace fsc::rpc {

std::string JobStateName(proto::JobState state) {
  switch (state) {
    case proto::JOB_QUEUED:
      return "queued";
    case proto::JOB_RUNNING:
      return "running";
    case proto::JOB_SUCCEEDED:
      return "succeeded";
    case proto::JOB_FAILED:
      return "failed";
    case proto::JOB_CANCELLED:
      return "cancelled";
    default:
      return "unknown";
  }
}

}  // namespace fsc::rpc
