// posix_spawnp-based child processes with captured output (see subprocess.h).
#include "core/util/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "absl/strings/str_cat.h"

extern char** environ;

namespace fsc::util {
namespace {

// Keep this much of a long-running child's output for error messages.
constexpr size_t kTailBytes = 8192;

// Writing to a pipe whose reader died must give EPIPE, not kill fsc. Done once per process.
void IgnoreSigpipe() {
  static std::once_flag once;
  std::call_once(once, [] { ::signal(SIGPIPE, SIG_IGN); });
}

int ExitCodeOf(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return -1;
}

void CloseIfOpen(int* fd) {
  if (*fd >= 0) ::close(*fd);
  *fd = -1;
}

// Owns the spawn attribute objects so every exit path frees them.
class SpawnSetup {
 public:
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions_);
    posix_spawnattr_init(&attr_);
    // The child starts with the default SIGPIPE action even though we ignore it here.
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigdefault(&attr_, &defaults);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr_, &none);
    posix_spawnattr_setflags(&attr_, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions_);
    posix_spawnattr_destroy(&attr_);
  }
  // Makes `fd` the child's `target` (0, 1 or 2).
  void Dup(int fd, int target) { posix_spawn_file_actions_adddup2(&actions_, fd, target); }
  void OpenDevNull(int target, int flags) {
    posix_spawn_file_actions_addopen(&actions_, target, "/dev/null", flags, 0);
  }
  absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv) {
    if (argv.empty() || argv[0].empty()) {
      return absl::InvalidArgumentError("subprocess: empty command line");
    }
    // Only fds 0-2 survive into the child: other engineers' open files and sockets stay ours.
    posix_spawn_file_actions_addclosefrom_np(&actions_, 3);
    std::vector<char*> args;
    for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    int rc = posix_spawnp(&pid, argv[0].c_str(), &actions_, &attr_, args.data(), environ);
    if (rc == ENOENT) {
      return absl::NotFoundError(
          absl::StrCat("cannot run '", argv[0], "': program not found on PATH (is it installed?)"));
    }
    if (rc != 0) {
      return absl::InternalError(absl::StrCat("cannot run '", argv[0], "': ", std::strerror(rc)));
    }
    return pid;
  }

 private:
  posix_spawn_file_actions_t actions_;
  posix_spawnattr_t attr_;
};

absl::Status MakePipe(int fds[2]) {
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot create a pipe: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

pid_t WaitFor(pid_t pid, int* status) {
  pid_t r;
  do {
    r = ::waitpid(pid, status, 0);
  } while (r < 0 && errno == EINTR);
  return r;
}

}  // namespace

absl::StatusOr<ProcessResult> RunProcess(const std::vector<std::string>& argv) {
  IgnoreSigpipe();
  int out_pipe[2], err_pipe[2];
  if (absl::Status s = MakePipe(out_pipe); !s.ok()) return s;
  if (absl::Status s = MakePipe(err_pipe); !s.ok()) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return s;
  }
  absl::StatusOr<pid_t> pid;
  {
    SpawnSetup setup;
    setup.OpenDevNull(0, O_RDONLY);
    setup.Dup(out_pipe[1], 1);
    setup.Dup(err_pipe[1], 2);
    pid = setup.Spawn(argv);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (!pid.ok()) {
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    return pid.status();
  }

  // Drain both pipes together until both reach EOF.
  ProcessResult result;
  int fds[2] = {out_pipe[0], err_pipe[0]};
  std::string* sinks[2] = {&result.out, &result.err};
  char buffer[65536];
  while (fds[0] >= 0 || fds[1] >= 0) {
    pollfd polls[2];
    int n = 0;
    int which[2];
    for (int i = 0; i < 2; ++i) {
      if (fds[i] < 0) continue;
      polls[n] = {fds[i], POLLIN, 0};
      which[n++] = i;
    }
    if (::poll(polls, n, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int k = 0; k < n; ++k) {
      if (polls[k].revents == 0) continue;
      int i = which[k];
      ssize_t got = ::read(fds[i], buffer, sizeof(buffer));
      if (got > 0) {
        sinks[i]->append(buffer, static_cast<size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        CloseIfOpen(&fds[i]);
      }
    }
  }
  CloseIfOpen(&fds[0]);
  CloseIfOpen(&fds[1]);
  int status = 0;
  if (WaitFor(*pid, &status) < 0) {
    return absl::InternalError(absl::StrCat("waiting for '", argv[0], "': ", std::strerror(errno)));
  }
  result.exit_code = ExitCodeOf(status);
  return result;
}

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(
    const std::vector<std::string>& argv) {
  IgnoreSigpipe();
  int in_pipe[2], out_pipe[2];
  if (absl::Status s = MakePipe(in_pipe); !s.ok()) return s;
  if (absl::Status s = MakePipe(out_pipe); !s.ok()) {
    ::close(in_pipe[0]);
    ::close(in_pipe[1]);
    return s;
  }
  absl::StatusOr<pid_t> pid;
  {
    SpawnSetup setup;
    setup.Dup(in_pipe[0], 0);
    setup.Dup(out_pipe[1], 1);
    setup.Dup(out_pipe[1], 2);
    pid = setup.Spawn(argv);
  }
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  if (!pid.ok()) {
    ::close(in_pipe[1]);
    ::close(out_pipe[0]);
    return pid.status();
  }
  return std::unique_ptr<ChildProcess>(new ChildProcess(*pid, in_pipe[1], out_pipe[0]));
}

ChildProcess::ChildProcess(pid_t pid, int stdin_fd, int output_fd)
    : pid_(pid), stdin_fd_(stdin_fd), output_fd_(output_fd) {
  reader_ = std::thread([this] { DrainOutput(); });
}

ChildProcess::~ChildProcess() { Reap(/*kill_first=*/true); }

void ChildProcess::DrainOutput() {
  char buffer[16384];
  for (;;) {
    ssize_t got = ::read(output_fd_, buffer, sizeof(buffer));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    std::lock_guard<std::mutex> lock(mu_);
    tail_.append(buffer, static_cast<size_t>(got));
    if (tail_.size() > 2 * kTailBytes) tail_.erase(0, tail_.size() - kTailBytes);
  }
  std::lock_guard<std::mutex> lock(mu_);
  output_closed_ = true;
  output_closed_cv_.notify_all();
}

absl::Status ChildProcess::Write(const void* data, size_t size) {
  if (stdin_fd_ < 0) return absl::FailedPreconditionError("subprocess: stdin already closed");
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(stdin_fd_, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      const bool early_exit = errno == EPIPE;
      std::string reason = early_exit ? "the program exited early" : std::strerror(errno);
      if (early_exit) {
        // Its last words (why it stopped) may still be in the pipe: give the reader a moment to
        // reach EOF, bounded in case the child only closed stdin and goes on running.
        std::unique_lock<std::mutex> lock(mu_);
        output_closed_cv_.wait_for(lock, std::chrono::seconds(2),
                                   [this] { return output_closed_; });
      }
      return absl::UnavailableError(absl::StrCat("writing to child process ", pid_, ": ", reason,
                                                 "; its output ends with:\n", StderrTail()));
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

void ChildProcess::Reap(bool kill_first) {
  CloseIfOpen(&stdin_fd_);
  if (!reaped_) {
    if (kill_first) ::kill(pid_, SIGKILL);
    int status = 0;
    if (WaitFor(pid_, &status) == pid_) exit_code_ = ExitCodeOf(status);
    reaped_ = true;
  }
  // The reader sees EOF once the child (and anything it left running with our pipe) is gone.
  if (reader_.joinable()) reader_.join();
  CloseIfOpen(&output_fd_);
}

absl::StatusOr<int> ChildProcess::Finish() {
  if (reaped_) return exit_code_;
  Reap(/*kill_first=*/false);
  if (exit_code_ < 0) {
    return absl::InternalError(absl::StrCat("lost track of child process ", pid_));
  }
  return exit_code_;
}

void ChildProcess::Kill() { Reap(/*kill_first=*/true); }

std::string ChildProcess::StderrTail() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (tail_.size() <= kTailBytes) return tail_;
  return tail_.substr(tail_.size() - kTailBytes);
}

}  // namespace fsc::util
