// Early-return helpers for absl::Status / absl::StatusOr, the error type that crosses every
// module boundary in fsc.
#ifndef FSC_CORE_UTIL_STATUS_MACROS_H_
#define FSC_CORE_UTIL_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define FSC_CONCAT_INNER_(a, b) a##b
#define FSC_CONCAT_(a, b) FSC_CONCAT_INNER_(a, b)

// Returns the status of `expr` from the current function when it is not OK.
#define FSC_RETURN_IF_ERROR(expr)              \
  do {                                         \
    ::absl::Status fsc_status_ = (expr);       \
    if (!fsc_status_.ok()) return fsc_status_; \
  } while (0)

// `FSC_ASSIGN_OR_RETURN(auto x, MakeX());` assigns the value or returns the error.
#define FSC_ASSIGN_OR_RETURN(lhs, expr) \
  FSC_ASSIGN_OR_RETURN_IMPL_(FSC_CONCAT_(fsc_statusor_, __LINE__), lhs, expr)
#define FSC_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()

#endif  // FSC_CORE_UTIL_STATUS_MACROS_H_
