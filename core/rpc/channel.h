// Client-side gRPC plumbing shared by fsc-worker and the fsc client verbs: building a channel
// (TLS by default, mTLS when a client certificate is given, plaintext only when asked for),
// attaching the bearer token, and converting between grpc::Status and absl::Status.
#ifndef FSC_CORE_RPC_CHANNEL_H_
#define FSC_CORE_RPC_CHANNEL_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fsc::rpc {

// Where and how to reach the coordinator. Paths are PEM files.
struct ConnectOptions {
  std::string address;   // host:port
  std::string token;     // bearer token (user token, or a worker's session token)
  std::string tls_ca;    // CA that signed the server's certificate (empty: system roots)
  std::string tls_cert;  // client certificate for mTLS (with tls_key)
  std::string tls_key;
  bool insecure = false;  // plaintext; logs a warning
};

// Builds a channel to `options.address`. Reads the PEM files now so that a missing or unreadable
// file is reported before the first call; INVALID_ARGUMENT for an empty address or a cert without
// its key. Does not connect (gRPC connects lazily).
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const ConnectOptions& options);

// A token travels as HTTP/2 header text, so it must be printable ASCII without spaces (as
// `fsc-coordinator token create` makes them); gRPC aborts the process on anything else.
// INVALID_ARGUMENT naming `where` it came from ("$FSC_TOKEN") and the offending byte.
absl::Status CheckTokenText(const std::string& token, const std::string& where);

// Adds `authorization: Bearer <token>` to the call's metadata (nothing for an empty token).
void AddAuth(grpc::ClientContext* context, const std::string& token);

// Status conversion at the wire boundary. Codes map one to one; the message is kept.
absl::Status FromGrpc(const grpc::Status& status);
grpc::Status ToGrpc(const absl::Status& status);

// Like FromGrpc, prefixing the message with what was being done (e.g. "LeaseTask") and, for
// UNAVAILABLE, a hint about where the coordinator was expected.
absl::Status FromGrpc(const grpc::Status& status, const std::string& what);

// True for the codes a retry after a pause may cure: UNAVAILABLE (coordinator down or
// restarting), DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED and ABORTED.
bool IsTransient(const absl::Status& status);

}  // namespace fsc::rpc

#endif  // FSC_CORE_RPC_CHANNEL_H_
