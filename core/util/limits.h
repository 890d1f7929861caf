// Bounds shared by options of several verbs and processes, so that each is stated once.
#ifndef FSC_CORE_UTIL_LIMITS_H_
#define FSC_CORE_UTIL_LIMITS_H_

namespace fsc::util {

// The most threads any `--threads` may ask for. Far past the cores of any node fsc runs on, yet
// small enough that each thread's own buffers and networks (extraction gives every thread its own
// detector and landmark net) cannot exhaust memory: asking for 100000 used to end in bad_alloc.
inline constexpr int kMaxThreads = 256;

// How long a worker's request for a task (fsc-worker --lease-wait-ms, LeaseTaskRequest.wait_ms)
// may wait on the coordinator for one to be queued. The coordinator holds a call at most the
// longest; a worker asks for at least the shortest, since 0 would make its lease loop a busy loop
// of RPCs while nothing is queued.
inline constexpr int kMinLeaseWaitMs = 100;
inline constexpr int kMaxLeaseWaitMs = 60000;

}  // namespace fsc::util

#endif  // FSC_CORE_UTIL_LIMITS_H_
