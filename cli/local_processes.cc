// Detached daemons, pid files and graceful stops for the local cluster.
#include "cli/local_processes.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/util/file_io.h"

namespace fsc::cli {
namespace fs = std::filesystem;
namespace {

absl::Status Errno(const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

std::vector<char*> CArgv(const std::vector<std::string>& argv) {
  std::vector<char*> out;
  for (const std::string& arg : argv) out.push_back(const_cast<char*>(arg.c_str()));
  out.push_back(nullptr);
  return out;
}

// In a forked child: closes every descriptor from `first` up. Only async-signal-safe calls from
// fork to exec.
void CloseFrom(int first) {
  long max_fd = sysconf(_SC_OPEN_MAX);
  if (max_fd < 0 || max_fd > 65536) max_fd = 65536;
  for (int fd = first; fd < max_fd; ++fd) close(fd);
}

// The child half of a spawn: reports exec failure's errno through `error_fd` and exits.
[[noreturn]] void ExecOrReport(char* const* argv, int error_fd, char* const* envp = environ) {
  execve(argv[0], argv, envp);
  int err = errno;
  ssize_t ignored = write(error_fd, &err, sizeof(err));
  (void)ignored;
  _exit(127);
}

// Waits for exec in the child: the CLOEXEC pipe closes on success, carries errno on failure.
absl::Status AwaitExec(int read_fd, pid_t pid, const std::string& binary) {
  int err = 0;
  ssize_t n;
  do {
    n = read(read_fd, &err, sizeof(err));
  } while (n < 0 && errno == EINTR);
  close(read_fd);
  if (n == static_cast<ssize_t>(sizeof(err))) {
    waitpid(pid, nullptr, 0);
    return absl::FailedPreconditionError(
        absl::StrCat("cannot run ", binary, ": ", std::strerror(err)));
  }
  return absl::OkStatus();
}

bool IsZombieOrGone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  // "pid (comm) S ...": the state follows the last ')', since comm may hold spaces or parens.
  size_t close = line.rfind(')');
  if (close == std::string::npos || close + 2 >= line.size()) return true;
  char state = line[close + 2];
  return state == 'Z' || state == 'X';
}

}  // namespace

std::string SelfBinDir() {
  std::error_code error;
  fs::path self = fs::read_symlink("/proc/self/exe", error);
  if (error) return ".";
  return self.parent_path().string();
}

absl::StatusOr<std::string> FindSiblingBinary(const std::string& name) {
  fs::path beside = fs::path(SelfBinDir()) / name;
  if (access(beside.c_str(), X_OK) == 0) return beside.string();
  const char* path_env = std::getenv("PATH");
  if (path_env != nullptr) {
    for (absl::string_view dir : absl::StrSplit(path_env, ':', absl::SkipEmpty())) {
      fs::path candidate = fs::path(std::string(dir)) / name;
      if (access(candidate.c_str(), X_OK) == 0) return candidate.string();
    }
  }
  return absl::NotFoundError(absl::StrCat("cannot find the ", name, " binary beside ", SelfBinDir(),
                                          " or on PATH: build it (scripts/build)"));
}

absl::StatusOr<pid_t> SpawnDetached(const std::vector<std::string>& argv,
                                    const std::string& log_path,
                                    const std::vector<std::string>& extra_env) {
  if (argv.empty()) return absl::InvalidArgumentError("SpawnDetached: empty command");
  // The environment is built before fork: the child may only make async-signal-safe calls.
  std::vector<std::string> env_strings;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::string text = *entry;
    bool replaced = false;
    for (const std::string& extra : extra_env) {
      std::string name_eq = extra.substr(0, extra.find('=') + 1);  // "NAME="
      replaced = replaced || text.rfind(name_eq, 0) == 0;
    }
    if (!replaced) env_strings.push_back(text);
  }
  env_strings.insert(env_strings.end(), extra_env.begin(), extra_env.end());
  std::vector<char*> c_env = CArgv(env_strings);
  std::error_code error;
  fs::create_directories(fs::path(log_path).parent_path(), error);
  int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return Errno("cannot open the log file " + log_path);
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  int pipe_fds[2];
  if (null_fd < 0 || pipe2(pipe_fds, O_CLOEXEC) != 0) {
    close(log_fd);
    if (null_fd >= 0) close(null_fd);
    return Errno("cannot set up the child's descriptors");
  }
  std::vector<char*> c_argv = CArgv(argv);
  pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    close(null_fd);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    return Errno("fork");
  }
  if (pid == 0) {
    setsid();  // its own session: no terminal, survives fsc and the shell that ran it
    dup2(null_fd, STDIN_FILENO);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    int error_fd = pipe_fds[1];
    if (error_fd != 3 && dup3(error_fd, 3, O_CLOEXEC) == 3) error_fd = 3;
    if (error_fd == 3) CloseFrom(4);
    signal(SIGPIPE, SIG_DFL);
    ExecOrReport(c_argv.data(), error_fd, c_env.data());
  }
  close(log_fd);
  close(null_fd);
  close(pipe_fds[1]);
  absl::Status exec_status = AwaitExec(pipe_fds[0], pid, argv[0]);
  if (!exec_status.ok()) return exec_status;
  return pid;
}

absl::StatusOr<std::string> RunAndCapture(const std::vector<std::string>& argv) {
  if (argv.empty()) return absl::InvalidArgumentError("RunAndCapture: empty command");
  int out_pipe[2], err_pipe[2], exec_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return Errno("pipe");
  if (pipe2(err_pipe, O_CLOEXEC) != 0) return Errno("pipe");
  if (pipe2(exec_pipe, O_CLOEXEC) != 0) return Errno("pipe");
  std::vector<char*> c_argv = CArgv(argv);
  pid_t pid = fork();
  if (pid < 0) return Errno("fork");
  if (pid == 0) {
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
    dup2(out_pipe[1], STDOUT_FILENO);
    dup2(err_pipe[1], STDERR_FILENO);
    ExecOrReport(c_argv.data(), exec_pipe[1]);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  close(exec_pipe[1]);
  absl::Status exec_status = AwaitExec(exec_pipe[0], pid, argv[0]);
  std::string out, err;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_count = 2;
  while (exec_status.ok() && open_count > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buffer[4096];
      ssize_t n = read(fds[i].fd, buffer, sizeof(buffer));
      if (n > 0) {
        (i == 0 ? out : err).append(buffer, n);
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1;
        --open_count;
      }
    }
  }
  close(out_pipe[0]);
  close(err_pipe[0]);
  if (!exec_status.ok()) return exec_status;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat(absl::StrJoin(argv, " "), " failed (exit ",
                                            WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                                            "): ", err.empty() ? out : err));
  }
  return out;
}

absl::Status WritePidFile(const std::string& path, const PidRecord& record) {
  return util::WriteFileAtomically(path, absl::StrCat(record.pid, " ", record.binary, "\n"));
}

absl::StatusOr<PidRecord> ReadPidFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("no pid file ", path));
  PidRecord record;
  long pid = 0;
  if (!(in >> pid) || pid <= 0) {
    return absl::DataLossError(absl::StrCat("malformed pid file ", path, ": delete it"));
  }
  record.pid = static_cast<pid_t>(pid);
  std::getline(in >> std::ws, record.binary);
  return record;
}

bool IsRunning(const PidRecord& record) {
  if (record.pid <= 0) return false;
  if (kill(record.pid, 0) != 0 && errno == ESRCH) return false;
  if (IsZombieOrGone(record.pid)) return false;
  if (record.binary.empty()) return true;
  std::error_code error;
  fs::path exe = fs::read_symlink("/proc/" + std::to_string(record.pid) + "/exe", error);
  if (error) return true;  // not ours to inspect (other user): trust the pid
  // A rebuilt binary shows as "PATH (deleted)" while the old one still runs.
  std::string exe_text = exe.string();
  return exe_text == record.binary || exe_text == record.binary + " (deleted)";
}

bool StopProcess(const PidRecord& record, absl::Duration grace) {
  if (!IsRunning(record)) return false;
  kill(record.pid, SIGTERM);
  absl::Time deadline = absl::Now() + grace;
  while (absl::Now() < deadline) {
    waitpid(record.pid, nullptr, WNOHANG);  // reaps it if it happens to be our child
    if (!IsRunning(record)) return false;
    absl::SleepFor(absl::Milliseconds(50));
  }
  kill(record.pid, SIGKILL);
  for (int i = 0; i < 200 && IsRunning(record); ++i) {
    waitpid(record.pid, nullptr, WNOHANG);
    absl::SleepFor(absl::Milliseconds(25));
  }
  return true;
}

absl::StatusOr<int> PickFreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    close(fd);
    return Errno("cannot find a free port on 127.0.0.1");
  }
  close(fd);
  return ntohs(address.sin_port);
}

std::string TailFile(const std::string& path, int max_lines) {
  std::ifstream in(path);
  std::deque<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    lines.push_back(line);
    if (static_cast<int>(lines.size()) > max_lines) lines.pop_front();
  }
  return absl::StrJoin(lines, "\n");
}

}  // namespace fsc::cli
