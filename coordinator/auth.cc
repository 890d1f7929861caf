// Bearer tokens -> users and workers; version checks; status conversion.
#include "coordinator/auth.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
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

absl::StatusOr<std::string> Authenticator::User(const grpc::ServerContext& context) {
  FSC_ASSIGN_OR_RETURN(std::string token, BearerToken(context));
  std::string hash = HashToken(token);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto found = users_.find(hash);
    if (found != users_.end()) return found->second;
  }
  FSC_ASSIGN_OR_RETURN(std::optional<std::string> user, store_->UserForToken(hash));
  if (!user) {
    FSC_ASSIGN_OR_RETURN(std::optional<WorkerRecord> worker, store_->WorkerForSession(hash));
    if (worker) {
      return absl::PermissionDeniedError("a worker session token cannot make client calls");
    }
    return absl::UnauthenticatedError(
        "unknown token (create one with 'fsc-coordinator token create --user NAME')");
  }
  std::lock_guard<std::mutex> lock(mu_);
  users_[hash] = *user;
  return *user;
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
  std::string hash = HashToken(token);
  std::string worker_id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto found = sessions_.find(hash);
    if (found != sessions_.end()) worker_id = found->second;
  }
  if (worker_id.empty()) {
    FSC_ASSIGN_OR_RETURN(std::optional<WorkerRecord> worker, store_->WorkerForSession(hash));
    if (!worker) {
      FSC_ASSIGN_OR_RETURN(std::optional<std::string> user, store_->UserForToken(hash));
      if (user) return absl::PermissionDeniedError("a user token cannot make worker calls");
      return absl::UnauthenticatedError(
          "unknown worker session token; register again with the join token");
    }
    worker_id = worker->info.id();
    std::lock_guard<std::mutex> lock(mu_);
    sessions_[hash] = worker_id;
  }
  if (!claimed_worker_id.empty() && claimed_worker_id != worker_id) {
    return absl::PermissionDeniedError(
        absl::StrCat("this session belongs to worker ", worker_id, ", not ", claimed_worker_id));
  }
  return worker_id;
}

absl::Status Authenticator::CheckJoinToken(const grpc::ServerContext& context,
                                           const std::string& join_token) {
  FSC_RETURN_IF_ERROR(CheckClientCert(context));
  if (join_token.empty()) {
    return absl::UnauthenticatedError(
        "no join token (create one with 'fsc-coordinator join-token create')");
  }
  FSC_ASSIGN_OR_RETURN(bool known, store_->IsJoinToken(HashToken(join_token)));
  if (!known) return absl::PermissionDeniedError("the join token is not this cluster's");
  return absl::OkStatus();
}

void Authenticator::AddSession(const std::string& session_token, const std::string& worker_id) {
  std::lock_guard<std::mutex> lock(mu_);
  // A re-registered worker gets a new session; forget the old one.
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    it = it->second == worker_id ? sessions_.erase(it) : std::next(it);
  }
  sessions_[HashToken(session_token)] = worker_id;
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
