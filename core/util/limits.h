// Bounds shared by options of several verbs and processes, so that each is stated once.
#ifndef FSC_CORE_UTIL_LIMITS_H_
#define FSC_CORE_UTIL_LIMITS_H_

namespace fsc::util {

// The most threads any `--threads` may ask for. Far past the cores of any node fsc runs on, yet
// small enough that each thread's own buffers and networks (extraction gives every thread its own
// detector and landmark net) cannot exhaust memory: asking for 100000 used to end in bad_alloc.
inline constexpr int kMaxThreads = 256;

}  // namespace fsc::util

#endif  // FSC_CORE_UTIL_LIMITS_H_
