// SHA-256 digests of bytes and files, used to tie alignments and datasets to the exact source
// they were made from.
#ifndef FSC_CORE_UTIL_SHA256_H_
#define FSC_CORE_UTIL_SHA256_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fsc::util {

// Incremental hashing, for data that arrives in pieces.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(absl::string_view data);
  // Lower-case hex digest; the object must not be updated afterwards.
  std::string HexDigest();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

std::string Sha256Hex(absl::string_view data);
// Streams the file through the hash (no whole-file buffer); NOT_FOUND / I/O error naming the path.
absl::StatusOr<std::string> Sha256File(const std::string& path);

}  // namespace fsc::util

#endif  // FSC_CORE_UTIL_SHA256_H_
