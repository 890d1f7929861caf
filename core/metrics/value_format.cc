// Shortest round-trip formatting of metric values (see value_format.h).
#include "core/metrics/value_format.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace fsc::metrics {

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == 0) return "0";  // also -0
  char buffer[64];
  if (std::fabs(value) < 1e15 && value == std::trunc(value)) {
    const int n = std::snprintf(buffer, sizeof(buffer), "%.0f", value);
    return std::string(buffer, n);
  }
  const std::to_chars_result result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

}  // namespace fsc::metrics
