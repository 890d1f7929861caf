// Child processes without a shell, one API for every program fsc starts:
//
//   Subprocess     starts a program with its stdin/stdout/stderr each inherited, /dev/null, a
//                  pipe, or a file; waits, polls, signals it, or releases it as a daemon.
//   RunProcess     runs a program to its end and captures stdout and stderr.
//   RunForOutput   the same, its stdout, or an error with its stderr when it does not exit 0.
//   ChildProcess   feeds a long-running program through its stdin (e.g. raw frames into ffmpeg).
//
// Programs are found on PATH unless argv[0] holds a '/'; arguments are passed as they are, never
// through a shell, so file names with spaces or quotes need no escaping. The child gets no file
// descriptors of ours but its stdin/stdout/stderr, and the default SIGPIPE action and an empty
// signal mask. Every descriptor this API opens is close-on-exec and closed on every error path.
// Exit codes are 128 + N for a child killed by signal N, as shells report them.
#ifndef FSC_CORE_UTIL_SUBPROCESS_H_
#define FSC_CORE_UTIL_SUBPROCESS_H_

#include <sys/types.h>

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fsc::util {

// Where one of the child's standard streams goes.
enum class Stdio {
  kInherit,  // ours
  kNull,     // /dev/null
  kPipe,     // a pipe whose other end Subprocess keeps (stdin_fd(), stdout_fd(), stderr_fd())
  kFile,     // SpawnOptions::file, created 0644 and appended to (stdout and stderr only)
  kStdout,   // stderr only: wherever stdout goes
};

struct SpawnOptions {
  Stdio in = Stdio::kNull;
  Stdio out = Stdio::kInherit;
  Stdio err = Stdio::kInherit;
  std::string file;  // for Stdio::kFile
  // A new session (setsid): no controlling terminal, not in our process group, so it outlives
  // the shell that ran us and our Ctrl-C.
  bool new_session = false;
  // "NAME=value" entries added to the inherited environment, replacing a variable of that name
  // (secrets go here rather than on the command line, where `ps` shows them).
  std::vector<std::string> env;
};

class Subprocess {
 public:
  // Starts argv. Errors: InvalidArgument for an empty argv, NotFound when the program is not
  // found or not executable, FailedPrecondition when SpawnOptions::file cannot be opened,
  // ResourceExhausted when out of descriptors or processes.
  static absl::StatusOr<std::unique_ptr<Subprocess>> Spawn(const std::vector<std::string>& argv,
                                                           const SpawnOptions& options = {});

  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;
  // Closes our pipe ends; a child that was neither waited for nor released is killed (SIGKILL)
  // and reaped, so no error path leaves a process or a zombie behind.
  ~Subprocess();

  pid_t pid() const { return pid_; }
  // Our ends of the Stdio::kPipe streams, -1 for the others. Subprocess closes them.
  int stdin_fd() const { return stdin_fd_; }
  int stdout_fd() const { return stdout_fd_; }
  int stderr_fd() const { return stderr_fd_; }
  void CloseStdin();

  // Waits for the child to end and returns its exit code; again after that: the same code.
  absl::StatusOr<int> Wait();
  // The exit code once the child has ended (reaping it), nullopt while it runs.
  std::optional<int> TryWait();
  // Sends `signal` unless the child has been reaped (its pid may belong to another process).
  void Signal(int signal);
  // Leaves the child running, unreaped, for good (a daemon; whoever runs it later tracks it by
  // pid). Returns the pid.
  pid_t Release();

 private:
  Subprocess(pid_t pid, int stdin_fd, int stdout_fd, int stderr_fd);
  void CloseFds();

  pid_t pid_;
  int stdin_fd_, stdout_fd_, stderr_fd_;
  bool done_ = false;  // reaped or released
  int exit_code_ = -1;
};

struct ProcessResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs argv with stdin from /dev/null, waits, and captures stdout and stderr in full (read
// concurrently, so a chatty child cannot deadlock). An error status only when the program cannot
// be started; a non-zero exit is reported in `exit_code`.
absl::StatusOr<ProcessResult> RunProcess(const std::vector<std::string>& argv);

// RunProcess's stdout; an error naming the command, its exit code and its stderr (or stdout when
// stderr is empty) when it does not exit 0.
absl::StatusOr<std::string> RunForOutput(const std::vector<std::string>& argv);

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
  pid_t pid() const { return child_->pid(); }

 private:
  explicit ChildProcess(std::unique_ptr<Subprocess> child);
  void DrainOutput();
  void Reap(bool kill_first);

  std::unique_ptr<Subprocess> child_;
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
