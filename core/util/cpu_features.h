// What the CPU can do, from the flags line of /proc/cpuinfo: the precision choices (bf16, int8)
// depend on instructions that make them fast rather than emulated.
#ifndef FSC_CORE_UTIL_CPU_FEATURES_H_
#define FSC_CORE_UTIL_CPU_FEATURES_H_

#include <initializer_list>
#include <string>

namespace fsc::util {

// True when the first CPU's flags include any of `flags` (e.g. "avx512_bf16", "avx512_vnni");
// false when /proc/cpuinfo cannot be read.
bool CpuHasAnyFlag(std::initializer_list<const char*> flags);

}  // namespace fsc::util

#endif  // FSC_CORE_UTIL_CPU_FEATURES_H_
