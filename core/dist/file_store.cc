// FileStore: one atomically written file per key, polled by readers.
#include "core/dist/file_store.h"

#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/util/file_io.h"
#include "core/util/status_macros.h"

namespace fsc::dist {

FileStore::FileStore(std::string dir) : dir_(std::move(dir)) {}

std::string FileStore::PathOf(const std::string& key) const {
  static const char kHex[] = "0123456789abcdef";
  std::string name = "k_";
  for (unsigned char c : key) {
    name.push_back(kHex[c >> 4]);
    name.push_back(kHex[c & 15]);
  }
  return dir_ + "/" + name;
}

absl::Status FileStore::Set(const std::string& key, const std::string& value) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("rendezvous folder ", dir_, " cannot be created: ", ec.message()));
  }
  return util::WriteFileAtomically(PathOf(key), value);
}

absl::StatusOr<std::vector<std::string>> FileStore::Get(const std::vector<std::string>& keys,
                                                        absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::vector<std::string> values(keys.size());
  std::vector<bool> have(keys.size(), false);
  size_t missing = keys.size();
  absl::Duration pause = absl::Milliseconds(1);
  while (true) {
    for (size_t i = 0; i < keys.size(); ++i) {
      if (have[i]) continue;
      absl::StatusOr<std::string> value = util::ReadFile(PathOf(keys[i]));
      if (value.ok()) {
        values[i] = *std::move(value);
        have[i] = true;
        --missing;
      } else if (!absl::IsNotFound(value.status())) {
        return absl::UnavailableError(absl::StrCat("rendezvous folder ", dir_, ": reading key \"",
                                                   keys[i], "\": ", value.status().message()));
      }
    }
    if (missing == 0) return values;
    if (absl::Now() >= deadline) {
      std::string which;
      for (size_t i = 0; i < keys.size(); ++i) {
        if (!have[i]) absl::StrAppend(&which, which.empty() ? "" : ", ", "\"", keys[i], "\"");
      }
      return absl::DeadlineExceededError(absl::StrCat(
          "rendezvous: key(s) ", which, " did not appear in ", dir_, " within ",
          absl::FormatDuration(timeout), " (is every rank of the group running with this store?)"));
    }
    absl::SleepFor(pause);
    pause = std::min(pause * 2, absl::Milliseconds(20));
  }
}

}  // namespace fsc::dist
