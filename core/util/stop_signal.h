// SIGTERM/SIGINT as an ordinary event: the signal handler only writes a byte to a pipe, and a
// thread of ours reads it. Blocking the signals with pthread_sigmask in main is not enough for
// that: libraries (OpenBLAS, OpenMP, gRPC) may start threads before main with the signals
// unblocked, and a signal delivered to one of them would kill the process with its default
// action. A handler is process-wide, so it catches the signal whichever thread it lands on.
#ifndef FSC_CORE_UTIL_STOP_SIGNAL_H_
#define FSC_CORE_UTIL_STOP_SIGNAL_H_

#include "absl/status/status.h"

namespace fsc::util {

// Installs the SIGTERM and SIGINT handlers (once per process; later calls do nothing).
absl::Status InstallStopSignalHandlers();

// Blocks until SIGTERM or SIGINT arrives (after InstallStopSignalHandlers) and returns its
// number. Every caller waits for its own signal: call it from one thread.
int WaitForStopSignal();

}  // namespace fsc::util

#endif  // FSC_CORE_UTIL_STOP_SIGNAL_H_
