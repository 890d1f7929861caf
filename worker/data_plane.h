// Which local address a worker's data plane (Gloo's TCP pairs between training ranks) binds by
// default: the one this host uses to reach the coordinator, so that ranks on different hosts
// reach each other over the same network the control plane uses. `--data-plane-address`
// overrides it (e.g. a faster private interface).
#ifndef FSC_WORKER_DATA_PLANE_H_
#define FSC_WORKER_DATA_PLANE_H_

#include <string>

#include "absl/status/statusor.h"

namespace fsc::worker {

// The local IP address (numeric, IPv4 or IPv6) of the route toward `host_port` ("host:port" or
// "[v6]:port"). Sends nothing: it asks the kernel for the source address of a connected UDP
// socket. INVALID_ARGUMENT for a malformed address, UNAVAILABLE when the host does not resolve
// or there is no route.
absl::StatusOr<std::string> LocalAddressToward(const std::string& host_port);

// Checks that `address` is a numeric IP address of this host (one a socket can bind).
absl::Status CheckBindable(const std::string& address);

}  // namespace fsc::worker

#endif  // FSC_WORKER_DATA_PLANE_H_
