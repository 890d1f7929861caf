// posix_spawn-based child processes (see subprocess.h).
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
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

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

// One owned descriptor: every early return closes it.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.Take()) {}
  Fd& operator=(Fd&& other) noexcept {
    CloseIfOpen(&fd_);
    fd_ = other.Take();
    return *this;
  }
  ~Fd() { CloseIfOpen(&fd_); }
  int get() const { return fd_; }
  int Take() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

absl::Status ErrnoStatus(int error, const std::string& what) {
  const std::string message = absl::StrCat(what, ": ", std::strerror(error));
  if (error == EMFILE || error == ENFILE || error == EAGAIN || error == ENOMEM) {
    return absl::ResourceExhaustedError(message);
  }
  return absl::InternalError(message);
}

// A pipe, both ends close-on-exec: [0] read, [1] write.
absl::Status MakePipe(Fd* read_end, Fd* write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoStatus(errno, "cannot create a pipe");
  *read_end = Fd(fds[0]);
  *write_end = Fd(fds[1]);
  return absl::OkStatus();
}

// The inherited environment with `extra` ("NAME=value") added, replacing variables of those names.
std::vector<std::string> MergedEnvironment(const std::vector<std::string>& extra) {
  std::vector<std::string> merged;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string text = *entry;
    bool replaced = false;
    for (const std::string& added : extra) {
      const std::string name_eq = added.substr(0, added.find('=') + 1);  // "NAME="
      replaced = replaced || text.compare(0, name_eq.size(), name_eq) == 0;
    }
    if (!replaced) merged.push_back(text);
  }
  merged.insert(merged.end(), extra.begin(), extra.end());
  return merged;
}

std::vector<char*> CStrings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (const std::string& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// Owns the spawn attribute objects so every exit path frees them.
class SpawnSetup {
 public:
  explicit SpawnSetup(bool new_session) {
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
    short flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
    if (new_session) flags |= POSIX_SPAWN_SETSID;
    posix_spawnattr_setflags(&attr_, flags);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions_);
    posix_spawnattr_destroy(&attr_);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;

  // Makes `fd` the child's `target` (0, 1 or 2).
  void Dup(int fd, int target) { posix_spawn_file_actions_adddup2(&actions_, fd, target); }

  absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv, char* const* envp) {
    // Only fds 0-2 survive into the child: other engineers' open files and sockets stay ours.
    posix_spawn_file_actions_addclosefrom_np(&actions_, 3);
    std::vector<char*> args = CStrings(argv);
    pid_t pid = -1;
    const int rc = posix_spawnp(&pid, argv[0].c_str(), &actions_, &attr_, args.data(), envp);
    if (rc == ENOENT || rc == EACCES || rc == ENOEXEC) {
      return absl::NotFoundError(absl::StrCat("cannot run '", argv[0], "': ", std::strerror(rc),
                                              rc == ENOENT ? " (is it installed?)" : ""));
    }
    if (rc != 0) return ErrnoStatus(rc, absl::StrCat("cannot run '", argv[0], "'"));
    return pid;
  }

 private:
  posix_spawn_file_actions_t actions_;
  posix_spawnattr_t attr_;
};

// The child's end of one standard stream, kept open until the spawn is done; `ours` receives
// our end of a pipe.
absl::Status OpenChildEnd(Stdio how, int target, const SpawnOptions& options, Fd* child_end,
                          Fd* ours) {
  switch (how) {
    case Stdio::kInherit:
    case Stdio::kStdout:
      return absl::OkStatus();
    case Stdio::kNull: {
      const int fd = ::open("/dev/null", (target == 0 ? O_RDONLY : O_WRONLY) | O_CLOEXEC);
      if (fd < 0) return ErrnoStatus(errno, "cannot open /dev/null");
      *child_end = Fd(fd);
      return absl::OkStatus();
    }
    case Stdio::kPipe:
      return target == 0 ? MakePipe(child_end, ours) : MakePipe(ours, child_end);
    case Stdio::kFile: {
      if (target == 0) return absl::InvalidArgumentError("subprocess: stdin cannot be a file");
      const int fd = ::open(options.file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (fd < 0) {
        return absl::FailedPreconditionError(
            absl::StrCat("cannot open ", options.file, ": ", std::strerror(errno)));
      }
      *child_end = Fd(fd);
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError("subprocess: unknown Stdio");
}

pid_t WaitFor(pid_t pid, int* status, int flags) {
  pid_t r;
  do {
    r = ::waitpid(pid, status, flags);
  } while (r < 0 && errno == EINTR);
  return r;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Subprocess>> Subprocess::Spawn(const std::vector<std::string>& argv,
                                                              const SpawnOptions& options) {
  if (argv.empty() || argv[0].empty()) {
    return absl::InvalidArgumentError("subprocess: empty command line");
  }
  if (options.in == Stdio::kStdout || options.out == Stdio::kStdout) {
    return absl::InvalidArgumentError("subprocess: only stderr can follow stdout");
  }
  IgnoreSigpipe();
  const Stdio how[3] = {options.in, options.out, options.err};
  Fd child_end[3], ours[3];
  for (int target = 0; target < 3; ++target) {
    absl::Status opened =
        OpenChildEnd(how[target], target, options, &child_end[target], &ours[target]);
    if (!opened.ok()) return opened;
  }
  std::vector<std::string> env_strings;
  if (!options.env.empty()) env_strings = MergedEnvironment(options.env);
  std::vector<char*> envp = CStrings(env_strings);

  absl::StatusOr<pid_t> pid;
  {
    SpawnSetup setup(options.new_session);
    for (int target = 0; target < 3; ++target) {
      if (child_end[target].get() >= 0) setup.Dup(child_end[target].get(), target);
    }
    if (options.err == Stdio::kStdout) setup.Dup(1, 2);
    pid = setup.Spawn(argv, options.env.empty() ? environ : envp.data());
  }
  if (!pid.ok()) return pid.status();  // every Fd closes itself
  return std::unique_ptr<Subprocess>(
      new Subprocess(*pid, ours[0].Take(), ours[1].Take(), ours[2].Take()));
}

Subprocess::Subprocess(pid_t pid, int stdin_fd, int stdout_fd, int stderr_fd)
    : pid_(pid), stdin_fd_(stdin_fd), stdout_fd_(stdout_fd), stderr_fd_(stderr_fd) {}

Subprocess::~Subprocess() {
  CloseFds();
  if (!done_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    WaitFor(pid_, &status, 0);
  }
}

void Subprocess::CloseFds() {
  CloseIfOpen(&stdin_fd_);
  CloseIfOpen(&stdout_fd_);
  CloseIfOpen(&stderr_fd_);
}

void Subprocess::CloseStdin() { CloseIfOpen(&stdin_fd_); }

absl::StatusOr<int> Subprocess::Wait() {
  if (done_) {
    if (exit_code_ < 0) return absl::FailedPreconditionError("subprocess: released, not waited");
    return exit_code_;
  }
  int status = 0;
  if (WaitFor(pid_, &status, 0) != pid_) {
    const int error = errno;
    done_ = true;
    return absl::InternalError(
        absl::StrCat("waiting for child process ", pid_, ": ", std::strerror(error)));
  }
  done_ = true;
  exit_code_ = ExitCodeOf(status);
  return exit_code_;
}

std::optional<int> Subprocess::TryWait() {
  if (done_) return exit_code_;
  int status = 0;
  const pid_t r = WaitFor(pid_, &status, WNOHANG);
  if (r == 0) return std::nullopt;
  done_ = true;
  exit_code_ = r == pid_ ? ExitCodeOf(status) : -1;
  return exit_code_;
}

void Subprocess::Signal(int signal) {
  if (!done_) ::kill(pid_, signal);
}

pid_t Subprocess::Release() {
  done_ = true;
  return pid_;
}

absl::StatusOr<ProcessResult> RunProcess(const std::vector<std::string>& argv) {
  SpawnOptions options;
  options.out = Stdio::kPipe;
  options.err = Stdio::kPipe;
  absl::StatusOr<std::unique_ptr<Subprocess>> child = Subprocess::Spawn(argv, options);
  if (!child.ok()) return child.status();

  // Drain both pipes together until both reach EOF.
  ProcessResult result;
  int fds[2] = {(*child)->stdout_fd(), (*child)->stderr_fd()};
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
      const int i = which[k];
      const ssize_t got = ::read(fds[i], buffer, sizeof(buffer));
      if (got > 0) {
        sinks[i]->append(buffer, static_cast<size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        fds[i] = -1;  // the Subprocess closes it
      }
    }
  }
  absl::StatusOr<int> code = (*child)->Wait();
  if (!code.ok()) return code.status();
  result.exit_code = *code;
  return result;
}

absl::StatusOr<std::string> RunForOutput(const std::vector<std::string>& argv) {
  absl::StatusOr<ProcessResult> run = RunProcess(argv);
  if (!run.ok()) return run.status();
  if (run->exit_code != 0) {
    const std::string& said = run->err.empty() ? run->out : run->err;
    return absl::InternalError(absl::StrCat("'", absl::StrJoin(argv, " "), "' failed (exit ",
                                            run->exit_code,
                                            "): ", absl::StripAsciiWhitespace(said)));
  }
  return std::move(run->out);
}

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(
    const std::vector<std::string>& argv) {
  SpawnOptions options;
  options.in = Stdio::kPipe;
  options.out = Stdio::kPipe;
  options.err = Stdio::kStdout;
  absl::StatusOr<std::unique_ptr<Subprocess>> child = Subprocess::Spawn(argv, options);
  if (!child.ok()) return child.status();
  return std::unique_ptr<ChildProcess>(new ChildProcess(std::move(*child)));
}

ChildProcess::ChildProcess(std::unique_ptr<Subprocess> child) : child_(std::move(child)) {
  reader_ = std::thread([this] { DrainOutput(); });
}

ChildProcess::~ChildProcess() { Reap(/*kill_first=*/true); }

void ChildProcess::DrainOutput() {
  char buffer[16384];
  for (;;) {
    const ssize_t got = ::read(child_->stdout_fd(), buffer, sizeof(buffer));
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
  const int fd = child_->stdin_fd();
  if (fd < 0) return absl::FailedPreconditionError("subprocess: stdin already closed");
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      const bool early_exit = errno == EPIPE;
      const std::string reason = early_exit ? "the program exited early" : std::strerror(errno);
      if (early_exit) {
        // Its last words (why it stopped) may still be in the pipe: give the reader a moment to
        // reach EOF, bounded in case the child only closed stdin and goes on running.
        std::unique_lock<std::mutex> lock(mu_);
        output_closed_cv_.wait_for(lock, std::chrono::seconds(2),
                                   [this] { return output_closed_; });
      }
      return absl::UnavailableError(absl::StrCat("writing to child process ", child_->pid(), ": ",
                                                 reason, "; its output ends with:\n",
                                                 StderrTail()));
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

void ChildProcess::Reap(bool kill_first) {
  child_->CloseStdin();
  if (!reaped_) {
    if (kill_first) child_->Signal(SIGKILL);
    absl::StatusOr<int> code = child_->Wait();
    if (code.ok()) exit_code_ = *code;
    reaped_ = true;
  }
  // The reader sees EOF once the child (and anything it left running with our pipe) is gone.
  if (reader_.joinable()) reader_.join();
}

absl::StatusOr<int> ChildProcess::Finish() {
  if (reaped_) return exit_code_;
  Reap(/*kill_first=*/false);
  if (exit_code_ < 0) {
    return absl::InternalError(absl::StrCat("lost track of child process ", child_->pid()));
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
