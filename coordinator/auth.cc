// Bearer tokens -> users and workers (looked up on every call); version checks; status
// conversion.
#include "coordinator/auth.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "coordinator/scheduler.h"
#include "coordinator/tokens.h"
#include "core/rpc/version.h"
#include "core/util/status_macros.h"

namespace fsc::coordinator {

absl::StatusOr<std::string> Authenticator::BearerToken(const grpc::ServerContext& context) {
  const auto& metadata = context.client_metadata();
  auto found = metadata.find("authorization");
  if (found == metadata.end()) {
    return absl::UnauthenticatedError(
        "no credentials: send 'authorization: Bearer <token>' (fsc --token, or FSC_TOKEN)");
  }
  std::string value(found->second.data(), found->second.size());
  if (!absl::StartsWith(value, "Bearer ") || value.size() <= 7 || value.size() > 1024) {
    return absl::UnauthenticatedError("malformed authorization header; expected 'Bearer <token>'");
  }
  return value.substr(7);
}

namespace {

std::string FormatUnixMs(int64_t unix_ms) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::FromUnixMillis(unix_ms),
                          absl::UTCTimeZone());
}

// UNAUTHENTICATED for a revoked or expired token; `what` names it ("this token").
absl::Status CheckLive(const TokenRecord& token, const std::string& what,
                       const std::string& remedy) {
  const int64_t now = Scheduler::NowMs();
  if (token.live(now)) return absl::OkStatus();
  return absl::UnauthenticatedError(absl::StrCat(
      what, " (id ", token.id(), ") ",
      token.revoked_unix_ms != 0 ? "was revoked at " + FormatUnixMs(token.revoked_unix_ms)
                                 : "expired at " + FormatUnixMs(token.expires_unix_ms),
      "; ", remedy));
}

}  // namespace

absl::StatusOr<std::string> Authenticator::User(const grpc::ServerContext& context) {
  FSC_ASSIGN_OR_RETURN(std::string token, BearerToken(context));
  const std::string hash = HashToken(token);
  FSC_ASSIGN_OR_RETURN(std::optional<TokenRecord> record, store_->GetToken(hash));
  if (!record) {
    FSC_ASSIGN_OR_RETURN(std::optional<WorkerRecord> worker, store_->WorkerForSession(hash));
    if (worker) {
      return absl::PermissionDeniedError("a worker session token cannot make client calls");
    }
    return absl::UnauthenticatedError(
        "unknown token (create one with 'fsc-coordinator token create --user NAME')");
  }
  if (record->kind != TokenKind::kUser) {
    return absl::PermissionDeniedError("a join token cannot make client calls");
  }
  FSC_RETURN_IF_ERROR(CheckLive(*record, "this token",
                                "ask the cluster's operator for a new one "
                                "('fsc-coordinator token create --user NAME')"));
  return record->user;
}

absl::Status Authenticator::CheckClientCert(const grpc::ServerContext& context) const {
  if (!require_client_cert_) return absl::OkStatus();
  auto auth = context.auth_context();
  if (auth == nullptr || !auth->IsPeerAuthenticated()) {
    return absl::UnauthenticatedError(
        "this coordinator requires workers to present a client certificate (mTLS: --tls-cert "
        "and --tls-key on fsc-worker)");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Authenticator::Worker(const grpc::ServerContext& context,
                                                  const std::string& claimed_worker_id) {
  FSC_RETURN_IF_ERROR(CheckClientCert(context));
  FSC_ASSIGN_OR_RETURN(std::string token, BearerToken(context));
  const std::string hash = HashToken(token);
  FSC_ASSIGN_OR_RETURN(std::optional<WorkerRecord> worker, store_->WorkerForSession(hash));
  if (!worker) {
    FSC_ASSIGN_OR_RETURN(std::optional<TokenRecord> other, store_->GetToken(hash));
    if (other && other->kind == TokenKind::kUser) {
      return absl::PermissionDeniedError("a user token cannot make worker calls");
    }
    return absl::UnauthenticatedError(
        "unknown worker session token; register again with the join token");
  }
  if (!worker->join_hash.empty()) {
    FSC_ASSIGN_OR_RETURN(std::optional<TokenRecord> join, store_->GetToken(worker->join_hash));
    if (!join) {
      return absl::UnauthenticatedError("the join token this worker registered with is gone");
    }
    FSC_RETURN_IF_ERROR(CheckLive(*join, "the join token this worker registered with",
                                  "restart it with a live one ('fsc-coordinator join-token "
                                  "create')"));
  }
  const std::string& worker_id = worker->info.id();
  if (!claimed_worker_id.empty() && claimed_worker_id != worker_id) {
    return absl::PermissionDeniedError(
        absl::StrCat("this session belongs to worker ", worker_id, ", not ", claimed_worker_id));
  }
  return worker_id;
}

absl::StatusOr<std::string> Authenticator::CheckJoinToken(const grpc::ServerContext& context,
                                                          const std::string& join_token) {
  FSC_RETURN_IF_ERROR(CheckClientCert(context));
  if (join_token.empty()) {
    return absl::UnauthenticatedError(
        "no join token (create one with 'fsc-coordinator join-token create')");
  }
  const std::string hash = HashToken(join_token);
  FSC_ASSIGN_OR_RETURN(std::optional<TokenRecord> record, store_->GetToken(hash));
  if (!record || record->kind != TokenKind::kJoin) {
    return absl::PermissionDeniedError(
        "the join token is not this cluster's (create one with 'fsc-coordinator join-token "
        "create')");
  }
  FSC_RETURN_IF_ERROR(CheckLive(*record, "the join token",
                                "create a new one with 'fsc-coordinator join-token create'"));
  return hash;
}

absl::Status CheckVersion(uint32_t version) {
  if (version > rpc::kClusterProtoVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "request version ", version, " is newer than this coordinator's ",
        rpc::kClusterProtoVersion, "; upgrade fsc-coordinator or use an older client"));
  }
  return absl::OkStatus();
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

}  // namespace fsc::coordinator
