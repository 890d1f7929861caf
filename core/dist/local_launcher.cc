// RunLocalRanks: posix_spawn each rank, waitpid them all, stop the rest when one fails.
#include "core/dist/local_launcher.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

extern char** environ;

namespace fsc::dist {
namespace {

// SIGTERM to the launcher is passed on to the ranks (each saves and stops with the group).
volatile sig_atomic_t g_terminate = 0;
void OnTerminate(int) { g_terminate = 1; }

int ExitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

absl::StatusOr<std::string> SelfExecutable() {
  std::error_code ec;
  std::filesystem::path path = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot find this program: ", ec.message()));
  return path.string();
}

absl::StatusOr<std::vector<RankExit>> RunLocalRanks(
    const std::vector<std::vector<std::string>>& argvs, absl::Duration grace) {
  std::vector<pid_t> pids;
  for (size_t r = 0; r < argvs.size(); ++r) {
    std::vector<char*> argv;
    for (const std::string& arg : argvs[r]) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ);
    if (rc != 0) {
      for (pid_t p : pids) {
        kill(p, SIGKILL);
        waitpid(p, nullptr, 0);
      }
      return absl::InternalError(
          absl::StrCat("cannot start rank ", r, " (", argvs[r][0], "): ", std::strerror(rc)));
    }
    pids.push_back(pid);
  }
  g_terminate = 0;
  struct sigaction action = {}, previous = {};
  action.sa_handler = OnTerminate;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, &previous);
  bool forwarded = false;
  std::vector<RankExit> exits(pids.size());
  std::vector<bool> running(pids.size(), true);
  size_t left = pids.size();
  bool stopping = false;
  absl::Time kill_at = absl::InfiniteFuture();
  while (left > 0) {
    bool reaped = false;
    for (size_t r = 0; r < pids.size(); ++r) {
      if (!running[r]) continue;
      int status = 0;
      const pid_t pid = waitpid(pids[r], &status, WNOHANG);
      if (pid == 0 || (pid < 0 && errno == EINTR)) continue;
      running[r] = false;
      --left;
      reaped = true;
      exits[r] = RankExit{static_cast<int>(r), pid > 0 ? ExitCode(status) : -1};
      if (exits[r].exit_code != 0 && !stopping) {
        // The group cannot go on without this rank.
        stopping = true;
        kill_at = absl::Now() + grace;
        for (size_t o = 0; o < pids.size(); ++o) {
          if (running[o]) kill(pids[o], SIGTERM);
        }
      }
    }
    if (reaped) continue;
    if (g_terminate && !forwarded) {
      forwarded = true;
      for (size_t o = 0; o < pids.size(); ++o) {
        if (running[o]) kill(pids[o], SIGTERM);
      }
    }
    if (absl::Now() >= kill_at) {
      for (size_t o = 0; o < pids.size(); ++o) {
        if (running[o]) kill(pids[o], SIGKILL);
      }
      kill_at = absl::InfiniteFuture();
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  sigaction(SIGTERM, &previous, nullptr);
  return exits;
}

}  // namespace fsc::dist
