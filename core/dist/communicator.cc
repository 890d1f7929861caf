// Backend selection and the helpers every backend shares.
#include "core/dist/communicator.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/dist/gloo_communicator.h"
#include "core/dist/nccl_communicator.h"
#include "core/util/status_macros.h"

namespace fsc::dist {

absl::StatusOr<std::string> ResolveBackend(const std::string& backend, bool model_on_gpu) {
  if (backend == "auto") return std::string(model_on_gpu ? "nccl" : "gloo");
  if (backend == "gloo" || backend == "nccl") return backend;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown collective backend \"", backend, "\" (auto, gloo or nccl)"));
}

absl::StatusOr<std::unique_ptr<Communicator>> Connect(const CommunicatorOptions& options,
                                                      KeyValueStore* store) {
  if (options.world_size < 1 || options.rank < 0 || options.rank >= options.world_size) {
    return absl::InvalidArgumentError(absl::StrCat("rank ", options.rank, " of a world of ",
                                                   options.world_size, " is not valid"));
  }
  if (options.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("the collective timeout must be positive");
  }
  if (options.backend == "gloo") return ConnectGloo(options, store);
  if (options.backend == "nccl") return ConnectNccl(options, store);
  return absl::InvalidArgumentError(absl::StrCat("unknown collective backend \"", options.backend,
                                                 "\" (gloo or nccl; resolve auto first)"));
}

absl::Status BroadcastString(Communicator* comm, std::string* bytes, int root) {
  int64_t size = comm->rank() == root ? static_cast<int64_t>(bytes->size()) : 0;
  FSC_RETURN_IF_ERROR(comm->Broadcast(&size, sizeof(size), root));
  if (size < 0) return absl::DataLossError("broadcast: negative size received");
  if (comm->rank() != root) bytes->assign(static_cast<size_t>(size), '\0');
  // Chunks keep each collective (and its timeout) proportionate.
  constexpr size_t kChunk = 64 << 20;
  for (size_t offset = 0; offset < bytes->size(); offset += kChunk) {
    const size_t n = std::min(kChunk, bytes->size() - offset);
    FSC_RETURN_IF_ERROR(comm->Broadcast(bytes->data() + offset, n, root));
  }
  return absl::OkStatus();
}

}  // namespace fsc::dist
