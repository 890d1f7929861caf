// Who is calling: the bearer token of a gRPC call (`authorization: Bearer <token>`) resolved to
// a user (ClientService) or a worker (WorkerService, RendezvousService), plus the join-token
// check of Register and the wire version check every service applies.
//
// Status codes: no or malformed credentials, a token nobody issued, or one that was revoked or
// expired -> UNAUTHENTICATED; a valid token of the wrong kind (a worker's on a client call, a
// user's on a worker call) -> PERMISSION_DENIED.
//
// Tokens are looked up by their SHA-256 in the store on every call, never cached: a token
// revoked by `fsc-coordinator token revoke` (another process writing the same database) is
// refused on its next call. A worker's session ends with the join token it registered with.
#ifndef FSC_COORDINATOR_AUTH_H_
#define FSC_COORDINATOR_AUTH_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "coordinator/store.h"

namespace fsc::coordinator {

class Authenticator {
 public:
  // `require_client_cert`: worker calls must come over a TLS connection whose client
  // certificate the server verified (mTLS).
  Authenticator(Store* store, bool require_client_cert)
      : store_(store), require_client_cert_(require_client_cert) {}

  // The token after "Bearer ", UNAUTHENTICATED when absent or malformed.
  static absl::StatusOr<std::string> BearerToken(const grpc::ServerContext& context);

  absl::StatusOr<std::string> User(const grpc::ServerContext& context);
  // The worker id of the call's session token. When `claimed_worker_id` is not empty it must be
  // that worker (PERMISSION_DENIED otherwise).
  absl::StatusOr<std::string> Worker(const grpc::ServerContext& context,
                                     const std::string& claimed_worker_id);
  // Register's join token: empty, revoked or expired -> UNAUTHENTICATED, not a join token ->
  // PERMISSION_DENIED. Returns its hash (the worker record keeps it).
  absl::StatusOr<std::string> CheckJoinToken(const grpc::ServerContext& context,
                                             const std::string& join_token);

 private:
  absl::Status CheckClientCert(const grpc::ServerContext& context) const;

  Store* store_;
  bool require_client_cert_;
};

// FAILED_PRECONDITION when a request's version is newer than this build's.
absl::Status CheckVersion(uint32_t version);

// absl::Status -> grpc::Status (codes map one to one).
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace fsc::coordinator

#endif  // FSC_COORDINATOR_AUTH_H_
