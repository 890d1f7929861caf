// Atomic writes of files that hold secrets (private keys, tokens): like
// util::WriteFileAtomically, but the file is created with mode 0600 so that it is never readable
// by others, not even for the moment between the write and a later chmod.
#ifndef FSC_CORE_RPC_SECRET_FILE_H_
#define FSC_CORE_RPC_SECRET_FILE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace fsc::rpc {

// Writes `contents` to a temporary file (mode 0600) beside `path`, fsyncs it and renames it over
// `path`. Parent folders are created (mode 0700 for new ones). On failure `path` is untouched.
absl::Status WriteSecretFileAtomically(const std::string& path, absl::string_view contents);

}  // namespace fsc::rpc

#endif  // FSC_CORE_RPC_SECRET_FILE_H_
