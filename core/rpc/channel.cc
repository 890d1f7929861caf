// Channel construction, bearer auth and status conversion for fsc's gRPC clients.
#include "core/rpc/channel.h"

#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/util/file_io.h"
#include "core/util/status_macros.h"

namespace fsc::rpc {
namespace {

constexpr char kUnavailableHint[] =
    " (is the coordinator running and reachable, with matching TLS?)";

absl::StatusOr<std::string> ReadPem(const std::string& path, const std::string& what) {
  auto contents = util::ReadFile(path);
  if (!contents.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read the ", what, " '", path, "': ", contents.status().message()));
  }
  if (contents->find("-----BEGIN") == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("the ", what, " '", path, "' is not a PEM file (no -----BEGIN line)"));
  }
  return contents;
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const ConnectOptions& options) {
  if (options.address.empty()) {
    return absl::InvalidArgumentError(
        "no coordinator address: pass --coordinator HOST:PORT, set FSC_COORDINATOR, or use a "
        "config file (FSC_CONFIG)");
  }
  grpc::ChannelArguments args;
  // Datasets and artifacts move in 1 MiB chunks; leave room for the framing.
  args.SetMaxReceiveMessageSize(16 << 20);
  args.SetMaxSendMessageSize(16 << 20);
  // A restarted coordinator should be found again quickly.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
  // Each channel owns its connections: a fresh channel made to get past a stale connection must
  // not be handed the same one from gRPC's process-wide pool.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);

  if (options.insecure) {
    if (!options.tls_ca.empty() || !options.tls_cert.empty()) {
      return absl::InvalidArgumentError(
          "--insecure cannot be combined with --tls-ca/--tls-cert: pick TLS or plaintext");
    }
    std::cerr << "warning: connecting to " << options.address
              << " without TLS (--insecure): tokens and data travel in plaintext\n";
    return grpc::CreateCustomChannel(options.address, grpc::InsecureChannelCredentials(), args);
  }

  grpc::SslCredentialsOptions ssl;
  if (!options.tls_ca.empty()) {
    FSC_ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadPem(options.tls_ca, "TLS CA certificate"));
  }
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    return absl::InvalidArgumentError(
        "mTLS needs both --tls-cert and --tls-key (the client certificate and its private key)");
  }
  if (!options.tls_cert.empty()) {
    FSC_ASSIGN_OR_RETURN(ssl.pem_cert_chain, ReadPem(options.tls_cert, "TLS client certificate"));
    FSC_ASSIGN_OR_RETURN(ssl.pem_private_key, ReadPem(options.tls_key, "TLS client key"));
  }
  return grpc::CreateCustomChannel(options.address, grpc::SslCredentials(ssl), args);
}

void AddAuth(grpc::ClientContext* context, const std::string& token) {
  if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
}

absl::Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

absl::Status FromGrpc(const grpc::Status& status, const std::string& what) {
  if (status.ok()) return absl::OkStatus();
  std::string message = absl::StrCat(what, ": ", status.error_message());
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE &&
      message.find(kUnavailableHint) == std::string::npos) {
    absl::StrAppend(&message, kUnavailableHint);
  }
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), message);
}

bool IsTransient(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kAborted:
      return true;
    default:
      return false;
  }
}

}  // namespace fsc::rpc
