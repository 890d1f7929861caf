// The self-pipe behind InstallStopSignalHandlers / WaitForStopSignal.
#include "core/util/stop_signal.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "absl/strings/str_cat.h"

namespace fsc::util {
namespace {

int g_pipe[2] = {-1, -1};

void OnStopSignal(int signal_number) {
  const int saved = errno;
  const char byte = static_cast<char>(signal_number);
  // Async-signal-safe; a full pipe only means a stop is already pending.
  [[maybe_unused]] ssize_t n = ::write(g_pipe[1], &byte, 1);
  errno = saved;
}

}  // namespace

absl::Status InstallStopSignalHandlers() {
  static std::once_flag once;
  static absl::Status result;
  std::call_once(once, [] {
    if (::pipe2(g_pipe, O_CLOEXEC) != 0) {
      result = absl::InternalError(absl::StrCat("signal pipe: ", std::strerror(errno)));
      return;
    }
    struct sigaction action;
    std::memset(&action, 0, sizeof(action));
    action.sa_handler = OnStopSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    if (::sigaction(SIGTERM, &action, nullptr) != 0 || ::sigaction(SIGINT, &action, nullptr) != 0) {
      result = absl::InternalError(absl::StrCat("sigaction: ", std::strerror(errno)));
    }
  });
  return result;
}

int WaitForStopSignal() {
  char byte = 0;
  for (;;) {
    ssize_t n = ::read(g_pipe[0], &byte, 1);
    if (n == 1) return static_cast<unsigned char>(byte);
    if (n < 0 && errno == EINTR) continue;
    return SIGTERM;  // the pipe is gone: treat it as a stop
  }
}

}  // namespace fsc::util
