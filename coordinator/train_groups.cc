// Generation counting for multi-rank train stages.
#include "coordinator/train_groups.h"

#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/util/status_macros.h"

namespace fsc::coordinator {
namespace {

bool SameMembers(const std::vector<SlotLease>& a, const std::vector<SlotLease>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].task_id != b[i].task_id || a[i].worker_id != b[i].worker_id ||
        a[i].attempt != b[i].attempt) {
      return false;
    }
  }
  return true;
}

}  // namespace

absl::StatusOr<TrainGroup> TrainGroups::Observe(const std::string& job_id, int ranks,
                                                const std::vector<SlotLease>& leased,
                                                int64_t broken, int64_t now_ms,
                                                int64_t reform_after_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  State& state = jobs_[job_id];
  if (!state.loaded) {
    FSC_ASSIGN_OR_RETURN(std::optional<std::string> stored, store_->GetMeta(MetaKey(job_id)));
    if (stored && !absl::SimpleAtoi(*stored, &state.generation)) {
      return absl::DataLossError(
          absl::StrCat("the stored generation of job ", job_id, " is not a number: ", *stored));
    }
    state.loaded = true;
  }
  TrainGroup group;
  group.generation = state.generation;
  const bool formed = state.generation > 0;
  // Nobody to form a generation with: keep the last one (its members will find out by
  // themselves that their peers are gone).
  if (leased.empty()) return group;
  if (!formed && static_cast<int>(leased.size()) < std::max(1, ranks)) return group;
  if (formed && broken == state.generation && state.broken_since_ms < 0) {
    state.broken_since_ms = now_ms;
  }
  const bool reform =
      state.broken_since_ms >= 0 && now_ms - state.broken_since_ms >= reform_after_ms;
  if (!SameMembers(state.members, leased) || reform) {
    const int64_t next = state.generation + 1;
    FSC_RETURN_IF_ERROR(
        store_->Transaction([&] { return store_->PutMeta(MetaKey(job_id), absl::StrCat(next)); }));
    state.generation = next;
    state.members = leased;
    state.broken_since_ms = -1;
    group.is_new = true;
  }
  group.generation = state.generation;
  group.members = state.members;
  return group;
}

}  // namespace fsc::coordinator
