// RunLocalRanks: spawn each rank (util::Subprocess), wait for them all, stop the rest when one
// fails.
#include "core/dist/local_launcher.h"

#include <signal.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/util/subprocess.h"

namespace fsc::dist {
namespace {

// SIGTERM to the launcher is passed on to the ranks (each saves and stops with the group).
volatile sig_atomic_t g_terminate = 0;
void OnTerminate(int) { g_terminate = 1; }

using Ranks = std::vector<std::unique_ptr<util::Subprocess>>;

void SignalRunning(const Ranks& ranks, int signal) {
  for (const auto& rank : ranks) rank->Signal(signal);  // a no-op for reaped ranks
}

}  // namespace

absl::StatusOr<std::vector<RankExit>> RunLocalRanks(
    const std::vector<std::vector<std::string>>& argvs, absl::Duration grace) {
  util::SpawnOptions inherit;
  inherit.in = util::Stdio::kInherit;
  Ranks ranks;
  for (size_t r = 0; r < argvs.size(); ++r) {
    absl::StatusOr<std::unique_ptr<util::Subprocess>> rank =
        util::Subprocess::Spawn(argvs[r], inherit);
    if (!rank.ok()) {
      // The ranks already started are killed and reaped as `ranks` goes.
      return absl::Status(rank.status().code(),
                          absl::StrCat("cannot start rank ", r, ": ", rank.status().message()));
    }
    ranks.push_back(std::move(*rank));
  }
  g_terminate = 0;
  struct sigaction action = {}, previous = {};
  action.sa_handler = OnTerminate;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, &previous);
  bool forwarded = false;
  std::vector<RankExit> exits(ranks.size());
  std::vector<bool> running(ranks.size(), true);
  size_t left = ranks.size();
  bool stopping = false;
  absl::Time kill_at = absl::InfiniteFuture();
  while (left > 0) {
    bool reaped = false;
    for (size_t r = 0; r < ranks.size(); ++r) {
      if (!running[r]) continue;
      const std::optional<int> code = ranks[r]->TryWait();
      if (!code) continue;
      running[r] = false;
      --left;
      reaped = true;
      exits[r] = RankExit{static_cast<int>(r), *code};
      if (*code != 0 && !stopping) {
        // The group cannot go on without this rank.
        stopping = true;
        kill_at = absl::Now() + grace;
        SignalRunning(ranks, SIGTERM);
      }
    }
    if (reaped) continue;
    if (g_terminate && !forwarded) {
      forwarded = true;
      SignalRunning(ranks, SIGTERM);
    }
    if (absl::Now() >= kill_at) {
      SignalRunning(ranks, SIGKILL);
      kill_at = absl::InfiniteFuture();
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  sigaction(SIGTERM, &previous, nullptr);
  return exits;
}

}  // namespace fsc::dist
