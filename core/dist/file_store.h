// A KeyValueStore in a folder that the processes of a local group share (`fsc train --ranks N`
// and `--dist-store DIR`): each key is one file, written atomically (temp + rename), so a reader
// sees either no key or its whole value. Gets poll the folder.
#ifndef FSC_CORE_DIST_FILE_STORE_H_
#define FSC_CORE_DIST_FILE_STORE_H_

#include <string>
#include <vector>

#include "core/dist/kv_store.h"

namespace fsc::dist {

class FileStore : public KeyValueStore {
 public:
  // `dir` is created on the first Set when missing.
  explicit FileStore(std::string dir);

  absl::Status Set(const std::string& key, const std::string& value) override;
  absl::StatusOr<std::vector<std::string>> Get(const std::vector<std::string>& keys,
                                               absl::Duration timeout) override;

  const std::string& dir() const { return dir_; }

 private:
  // The file of `key`: its bytes hex-encoded, so any key is a safe file name.
  std::string PathOf(const std::string& key) const;

  std::string dir_;
};

}  // namespace fsc::dist

#endif  // FSC_CORE_DIST_FILE_STORE_H_
