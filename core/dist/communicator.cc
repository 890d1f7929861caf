// Backend selection and the helpers every backend shares.
#include "core/dist/communicator.h"

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

absl::Duration ConnectTimeout(const CommunicatorOptions& options) {
  return options.connect_timeout > absl::ZeroDuration() ? options.connect_timeout : options.timeout;
}

}  // namespace fsc::dist
