// A fixed group of processes on one machine (`fsc train --ranks N`, or `--dist-rank R
// --dist-world W --dist-store DIR`): generation 0 forever, rendezvous in a shared folder
// (file_store.h). A fixed group does not re-form: once generation 0 fails, Next() says ABORTED.
#ifndef FSC_CORE_DIST_LOCAL_GROUP_H_
#define FSC_CORE_DIST_LOCAL_GROUP_H_

#include <memory>
#include <string>

#include "core/dist/elastic.h"

namespace fsc::dist {

class LocalGroup : public GroupDirectory {
 public:
  LocalGroup(std::string store_dir, int rank, int world_size);

  absl::StatusOr<Generation> Next(int64_t after) override;
  bool Changed(int64_t) override { return false; }
  std::unique_ptr<KeyValueStore> StoreFor(int64_t id) override;

 private:
  std::string store_dir_;
  int rank_, world_size_;
};

}  // namespace fsc::dist

#endif  // FSC_CORE_DIST_LOCAL_GROUP_H_
