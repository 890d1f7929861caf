// `fsc-coordinator token ...` and `fsc-coordinator join-token ...`: the operator's commands for
// the credentials in a coordinator's database (create with an optional expiry, list, revoke).
// They open the database file directly, also while a coordinator serves it: the coordinator
// looks tokens up on every call (auth.h), so a revocation is refused from the next call on.
#ifndef FSC_COORDINATOR_TOKEN_ADMIN_H_
#define FSC_COORDINATOR_TOKEN_ADMIN_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "coordinator/store.h"

namespace fsc::coordinator {

// Runs `fsc-coordinator token|join-token ARGS...` (`args` starts after the kind's word) and
// returns the exit code: 0 done, 1 failed, 2 usage.
int RunTokenCommand(const std::vector<std::string>& args, TokenKind kind);

// "90d", "12h", "30m", "1h30m", "45s": a positive duration.
absl::StatusOr<absl::Duration> ParseTokenLifetime(const std::string& text);

}  // namespace fsc::coordinator

#endif  // FSC_COORDINATOR_TOKEN_ADMIN_H_
