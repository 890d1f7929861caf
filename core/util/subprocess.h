// Child processes without a shell: run a program and capture its output (RunProcess), or feed a
// long-running program through its stdin (ChildProcess, e.g. raw frames into ffmpeg).
//
// Programs are found on PATH (posix_spawnp); arguments are passed as they are, never through a
// shell, so file names with spaces or quotes need no escaping. The child gets no other file
// descriptors of ours than its stdin/stdout/stderr, and the default SIGPIPE action.
#ifndef FSC_CORE_UTIL_SUBPROCESS_H_
#define FSC_CORE_UTIL_SUBPROCESS_H_

#include <sys/types.h>

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fsc::util {

struct ProcessResult {
  // The exit status; 128 + N when the child was killed by signal N (as shells report it).
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs argv[0] (looked up on PATH) with the arguments, stdin from /dev/null, waits, and captures
// stdout and stderr in full (read concurrently, so a chatty child cannot deadlock). An error
// status only when the program cannot be started (e.g. NOT_FOUND when it is not installed); a
// non-zero exit is reported in `exit_code`.
absl::StatusOr<ProcessResult> RunProcess(const std::vector<std::string>& argv);

// A running child whose stdin is a pipe we write to. Its stdout and stderr both go to one pipe
// that a background thread drains, keeping the last few KiB for error messages (StderrTail).
class ChildProcess {
 public:
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(const std::vector<std::string>& argv);

  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  // Kills the child (SIGKILL) and reaps it if Finish() was not called.
  ~ChildProcess();

  // Writes all of `data` to the child's stdin. An error (with the child's stderr tail) when the
  // child has closed its stdin or died (EPIPE; SIGPIPE is ignored in this process).
  absl::Status Write(const void* data, size_t size);
  // Closes stdin, waits for the child to exit and returns its exit code (128 + N for signal N).
  absl::StatusOr<int> Finish();
  // SIGKILL and wait; for error paths. Safe to call more than once.
  void Kill();
  // The last bytes the child wrote to stdout/stderr.
  std::string StderrTail() const;
  pid_t pid() const { return pid_; }

 private:
  ChildProcess(pid_t pid, int stdin_fd, int output_fd);
  void DrainOutput();
  void Reap(bool kill_first);

  pid_t pid_;
  int stdin_fd_;
  int output_fd_;
  bool reaped_ = false;
  int exit_code_ = -1;
  std::thread reader_;
  mutable std::mutex mu_;
  std::string tail_;            // guarded by mu_
  bool output_closed_ = false;  // guarded by mu_: the reader saw EOF
  std::condition_variable output_closed_cv_;
};

}  // namespace fsc::util

#endif  // FSC_CORE_UTIL_SUBPROCESS_H_
