// Whole-file reads and atomic writes. Every output fsc produces goes through WriteFileAtomically
// so that a crash or a full disk never leaves a half-written file where a good one was expected.
#ifndef FSC_CORE_UTIL_FILE_IO_H_
#define FSC_CORE_UTIL_FILE_IO_H_

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fsc::util {

// Reads the whole file; NOT_FOUND or a clear I/O error naming the path otherwise.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// Writes `contents` to a temporary file beside `path`, flushes it to disk, then renames it over
// `path`. Parent directories are created. On failure `path` is untouched.
// `mode` is the new file's permission bits from the start (0600 for keys and tokens), so a
// secret is never readable by others, not even before a later chmod.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents,
                                 mode_t mode = 0644);

}  // namespace fsc::util

#endif  // FSC_CORE_UTIL_FILE_IO_H_
