// Local process supervision for `fsc cluster up --local`: starting detached daemons with their
// output in a log file, remembering them in pid files, telling whether a pid is still the process
// we started, and stopping them (SIGTERM, then SIGKILL after a grace period).
#ifndef FSC_CLI_LOCAL_PROCESSES_H_
#define FSC_CLI_LOCAL_PROCESSES_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace fsc::cli {

// The folder of the running fsc binary, where fsc-coordinator and fsc-worker are built beside it.
std::string SelfBinDir();

// Finds a sibling binary (`fsc-coordinator`, `fsc-worker`): beside fsc first, then on $PATH.
absl::StatusOr<std::string> FindSiblingBinary(const std::string& name);

// Starts `argv` (argv[0] an absolute path) in a new session, stdin from /dev/null, stdout and
// stderr appended to `log_path` (its folder is made), no other inherited descriptors (so a caller
// reading fsc's output through a pipe is not held open by the daemon). `extra_env` ("NAME=value")
// is added to the inherited environment (secrets go there rather than on the command line, where
// `ps` shows them). Returns the child's pid once exec succeeded.
absl::StatusOr<pid_t> SpawnDetached(const std::vector<std::string>& argv,
                                    const std::string& log_path,
                                    const std::vector<std::string>& extra_env = {});

// Pid files hold "PID BINARY_PATH\n", so that a recycled pid running something else is not
// mistaken for our daemon.
struct PidRecord {
  pid_t pid = 0;
  std::string binary;
};
absl::Status WritePidFile(const std::string& path, const PidRecord& record);
// NOT_FOUND when there is no pid file.
absl::StatusOr<PidRecord> ReadPidFile(const std::string& path);

// True when `record.pid` exists, is not a zombie, and runs `record.binary`.
bool IsRunning(const PidRecord& record);

// SIGTERM, wait up to `grace`, then SIGKILL and wait for it to vanish. Returns true when the
// process had to be killed.
bool StopProcess(const PidRecord& record, absl::Duration grace);

// A TCP port on 127.0.0.1 that was free a moment ago.
absl::StatusOr<int> PickFreePort();

// The last `max_lines` lines of a text file ("" when unreadable), for error messages that point
// at a daemon's log.
std::string TailFile(const std::string& path, int max_lines);

}  // namespace fsc::cli

#endif  // FSC_CLI_LOCAL_PROCESSES_H_
