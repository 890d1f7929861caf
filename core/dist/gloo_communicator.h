// The Gloo backend of Communicator: a full mesh of TCP connections between the ranks, made
// through a KeyValueStore (gloo_store.h), with ring all-reduce and one-to-all broadcast. Each
// collective carries the communicator's timeout (Gloo's per-operation timeout), and Gloo's
// exceptions become Status: a timeout is DEADLINE_EXCEEDED, a broken connection UNAVAILABLE.
#ifndef FSC_CORE_DIST_GLOO_COMMUNICATOR_H_
#define FSC_CORE_DIST_GLOO_COMMUNICATOR_H_

#include <memory>

#include "core/dist/communicator.h"

namespace fsc::dist {

// Connects (see Connect in communicator.h); options.backend is ignored.
absl::StatusOr<std::unique_ptr<Communicator>> ConnectGloo(const CommunicatorOptions& options,
                                                          KeyValueStore* store);

}  // namespace fsc::dist

#endif  // FSC_CORE_DIST_GLOO_COMMUNICATOR_H_
