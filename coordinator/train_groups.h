// Generations of the group of a multi-rank train stage (elastic data-parallel training).
//
// A job's train stage has rank slots (planner.h, TrainSlots); the group's members are the slots
// currently leased, ranked by slot order. The group forms (generation 1) once `ranks` slots are
// leased; from then on every change of the member set — a lease ended because its worker died,
// stopped heartbeating or failed, or a pending slot was leased by a joining trainer — makes a
// new generation, which tells the survivors to re-rendezvous. A member is a (slot, attempt), so a
// slot lost and leased again between two looks still counts as a change.
//
// A member whose collectives failed reports the generation broken. Usually a member was lost and
// its lease ends within a TTL, which makes the next generation anyway; when nobody left (a peer
// was only slow or briefly unreachable) the group would wait forever, so a generation reported
// broken `reform_after_ms` ago and still current is re-formed with the same members.
//
// Generations are computed when someone looks (GetMembership polls), so nothing runs in the
// background. The counter is persisted in the Store before a generation is handed out: a
// restarted coordinator continues above it (its first look is a new generation, because the
// in-memory member set and the rendezvous store are gone), and ranks never see an id twice.
#ifndef FSC_COORDINATOR_TRAIN_GROUPS_H_
#define FSC_COORDINATOR_TRAIN_GROUPS_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "coordinator/store.h"

namespace fsc::coordinator {

struct SlotLease {
  std::string task_id;
  std::string worker_id;
  int attempt = 0;
};

struct TrainGroup {
  int64_t generation = 0;          // 0 = not formed yet
  std::vector<SlotLease> members;  // by rank; empty while generation is 0
  bool is_new = false;             // this look made the generation
};

class TrainGroups {
 public:
  explicit TrainGroups(Store* store) : store_(store) {}

  // The current group of `job_id`'s train stage given its leased slots (slot order) and the
  // number of ranks it starts with. Must not be called inside a Store transaction.
  // `broken` is the generation the caller reports broken (0: none), at `now_ms`.
  absl::StatusOr<TrainGroup> Observe(const std::string& job_id, int ranks,
                                     const std::vector<SlotLease>& leased, int64_t broken = 0,
                                     int64_t now_ms = 0, int64_t reform_after_ms = 0);

  static std::string MetaKey(const std::string& job_id) { return "train_generation/" + job_id; }

 private:
  struct State {
    bool loaded = false;
    int64_t generation = 0;
    std::vector<SlotLease> members;
    int64_t broken_since_ms = -1;  // when the current generation was first reported broken
  };

  Store* store_;
  std::mutex mu_;
  std::map<std::string, State> jobs_;
};

}  // namespace fsc::coordinator

#endif  // FSC_COORDINATOR_TRAIN_GROUPS_H_
