// Starts the ranks of a local data-parallel run (`fsc train --ranks N`) as child processes of
// this one, with this process's stdin/stdout/stderr, and waits for them. When one fails, the
// others are told to stop (SIGTERM) and, if they have not exited after a grace period, killed:
// a fixed local group cannot continue without a member, and its survivors would otherwise
// wait for their collective timeout. A SIGTERM to this process is passed on to the ranks while
// it waits.
#ifndef FSC_CORE_DIST_LOCAL_LAUNCHER_H_
#define FSC_CORE_DIST_LOCAL_LAUNCHER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace fsc::dist {

struct RankExit {
  int rank = 0;
  int exit_code = 0;  // 128 + N when killed by signal N
};

// Runs argvs[r] (argv[0] a path) as rank r for every r and waits for all. Ranks get this
// process's stdin/stdout/stderr and no other descriptor of it. The exits in rank order; an error
// only when a rank cannot be started (the started ones are killed then).
absl::StatusOr<std::vector<RankExit>> RunLocalRanks(
    const std::vector<std::vector<std::string>>& argvs, absl::Duration grace);

}  // namespace fsc::dist

#endif  // FSC_CORE_DIST_LOCAL_LAUNCHER_H_
