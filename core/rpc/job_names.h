// The words people read for the cluster's enums ("queued", "running", ...): one spelling for
// the coordinator's log and events and for the client's output.
#ifndef FSC_CORE_RPC_JOB_NAMES_H_
#define FSC_CORE_RPC_JOB_NAMES_H_

#include <string>

#include "proto/fsc.pb.h"

namespace fsc::rpc {

// queued, running, succeeded, failed, cancelled; "unknown" for anything else.
std::string JobStateName(proto::JobState state);

}  // namespace fsc::rpc

#endif  // FSC_CORE_RPC_JOB_NAMES_H_
