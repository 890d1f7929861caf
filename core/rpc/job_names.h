// The words people read and type for the cluster's enums ("queued", "merge-alignments",
// "extract", ...), derived from the enum value names in fsc.proto, so that the client's output,
// the coordinator's log, events and metric labels, and the worker's --roles spell them one way.
#ifndef FSC_CORE_RPC_JOB_NAMES_H_
#define FSC_CORE_RPC_JOB_NAMES_H_

#include <optional>
#include <string>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "proto/fsc.pb.h"

namespace fsc::rpc {

// A value's word: its name without the enum's prefix (up to the first '_'), lower case, '-' for
// '_' (TASK_MERGE_ALIGNMENTS -> "merge-alignments"); "unknown" for the unspecified value and for
// numbers the enum does not define.
std::string EnumWord(const google::protobuf::EnumDescriptor& type, int value);

// The value whose word is `word` (any case); nullopt when none is, or for "unknown".
std::optional<int> ParseEnumWord(const google::protobuf::EnumDescriptor& type,
                                 const std::string& word);

// The words of every specified value, in declaration order (for help and error messages).
std::vector<std::string> EnumWords(const google::protobuf::EnumDescriptor& type);

inline std::string JobStateName(proto::JobState v) {
  return EnumWord(*proto::JobState_descriptor(), v);
}
inline std::string JobKindName(proto::JobKind v) {
  return EnumWord(*proto::JobKind_descriptor(), v);
}
inline std::string TaskKindName(proto::TaskKind v) {
  return EnumWord(*proto::TaskKind_descriptor(), v);
}
inline std::string TaskStateName(proto::TaskState v) {
  return EnumWord(*proto::TaskState_descriptor(), v);
}
inline std::string WorkerRoleName(proto::WorkerRole v) {
  return EnumWord(*proto::WorkerRole_descriptor(), v);
}

}  // namespace fsc::rpc

#endif  // FSC_CORE_RPC_JOB_NAMES_H_
