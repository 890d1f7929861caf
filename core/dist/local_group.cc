// LocalGroup: generation 0 of a fixed local group.
#include "core/dist/local_group.h"

#include "absl/strings/str_cat.h"
#include "core/dist/file_store.h"

namespace fsc::dist {

LocalGroup::LocalGroup(std::string store_dir, int rank, int world_size)
    : store_dir_(std::move(store_dir)), rank_(rank), world_size_(world_size) {}

absl::StatusOr<Generation> LocalGroup::Next(int64_t after) {
  if (after < 0) return Generation{0, rank_, world_size_, {}};
  return absl::AbortedError(absl::StrCat(
      "the local group of ", world_size_, " ranks (store ", store_dir_,
      ") lost a member; a fixed local group does not re-form (resume from the last checkpoint "
      "with --resume, or train in a cluster for elastic recovery)"));
}

std::unique_ptr<KeyValueStore> LocalGroup::StoreFor(int64_t id) {
  return std::make_unique<FileStore>(absl::StrCat(store_dir_, "/generation-", id));
}

}  // namespace fsc::dist
