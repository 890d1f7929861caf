// Folders a worker writes task inputs and outputs into, safe on a shared machine: nobody else can
// put files there (a planted input or a swapped symlink would end up in someone's job) or read
// what is being worked on. A fixed name under a world-writable folder such as /tmp is exactly
// what another local user can create first, so such a folder is never used as it is.
#ifndef FSC_WORKER_PRIVATE_DIR_H_
#define FSC_WORKER_PRIVATE_DIR_H_

#include <string>

#include "absl/status/statusor.h"

namespace fsc::worker {

// A new folder with a random name (mkdtemp "fsc-worker-XXXXXX", mode 0700) inside `parent`.
absl::StatusOr<std::string> NewPrivateDir(const std::string& parent);

// A folder only this user can write, at or under `path`:
//   - `path` itself when it is a folder (not a symbolic link) of this user that group and others
//     cannot write, or when it does not exist (it is created, mode 0700);
//   - otherwise (a shared folder such as /tmp, a Kubernetes emptyDir, another user's folder) a
//     private folder inside it: `subfolder` when given (kept across runs: it must be this user's
//     and private if it exists), else a new one with a random name (mkdtemp, "fsc-worker-XXXXXX").
// FAILED_PRECONDITION naming the folder when none can be had.
absl::StatusOr<std::string> PrivateDir(const std::string& path, const std::string& subfolder = "");

}  // namespace fsc::worker

#endif  // FSC_WORKER_PRIVATE_DIR_H_
