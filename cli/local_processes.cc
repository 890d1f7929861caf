// Detached daemons, pid files and graceful stops for the local cluster.
#include "cli/local_processes.h"

#include <arpa/inet.h>
#include <netinet/in.h>
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
#include "core/util/paths.h"
#include "core/util/subprocess.h"

namespace fsc::cli {
namespace fs = std::filesystem;
namespace {

absl::Status Errno(const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
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
  absl::StatusOr<std::string> self = util::SelfExecutable();
  if (!self.ok()) return ".";
  return fs::path(*self).parent_path().string();
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
  std::error_code error;
  fs::create_directories(fs::path(log_path).parent_path(), error);
  util::SpawnOptions options;
  options.out = util::Stdio::kFile;
  options.err = util::Stdio::kStdout;
  options.file = log_path;
  options.new_session = true;  // no terminal; survives fsc and the shell that ran it
  options.env = extra_env;
  absl::StatusOr<std::unique_ptr<util::Subprocess>> daemon = util::Subprocess::Spawn(argv, options);
  if (!daemon.ok()) return daemon.status();
  return (*daemon)->Release();
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
