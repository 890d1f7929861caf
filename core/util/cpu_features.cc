// Reads the CPU's feature flags once (see cpu_features.h).
#include "core/util/cpu_features.h"

#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/match.h"

namespace fsc::util {
namespace {

std::set<std::string> ReadFlags() {
  std::set<std::string> flags;
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (!absl::StartsWith(line, "flags")) continue;
    std::istringstream words(line.substr(line.find(':') + 1));
    std::string word;
    while (words >> word) flags.insert(word);
    break;  // every core reports the same flags
  }
  return flags;
}

}  // namespace

bool CpuHasAnyFlag(std::initializer_list<const char*> flags) {
  static const std::set<std::string>* const kFlags = new std::set<std::string>(ReadFlags());
  for (const char* flag : flags) {
    if (kFlags->count(flag) > 0) return true;
  }
  return false;
}

}  // namespace fsc::util
