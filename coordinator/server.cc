// Wiring of the coordinator process.
#include "coordinator/server.h"

#include <chrono>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "coordinator/validation.h"
#include "core/metrics/rpc_interceptor.h"
#include "core/util/file_io.h"
#include "core/util/status_macros.h"

namespace fsc::coordinator {
namespace {

// Large enough for a 4 MiB chunk plus framing, so an oversized chunk reaches our validation
// (a clear INVALID_ARGUMENT) instead of gRPC's generic size error.
constexpr int kMaxMessageBytes = 16 << 20;

absl::StatusOr<std::string> ReadPem(const std::string& path, const std::string& flag) {
  absl::StatusOr<std::string> pem = util::ReadFile(path);
  if (!pem.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " '", path, "': ", pem.status().message()));
  }
  if (pem->find("-----BEGIN") == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(flag, " '", path, "' is not a PEM file"));
  }
  return pem;
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(const ServerOptions& options) {
  if (options.insecure) {
    if (!options.tls_cert.empty() || !options.tls_key.empty() || !options.tls_client_ca.empty()) {
      return absl::InvalidArgumentError("--insecure cannot be combined with --tls-* flags");
    }
    std::cerr << "fsc-coordinator: WARNING: serving WITHOUT TLS (--insecure): tokens and data "
                 "travel in clear text; use this only on a trusted loopback or test network\n";
    return grpc::InsecureServerCredentials();
  }
  if (options.tls_cert.empty() || options.tls_key.empty()) {
    return absl::InvalidArgumentError(
        "TLS needs --tls-cert and --tls-key (PEM files); or pass --insecure for plaintext");
  }
  grpc::SslServerCredentialsOptions ssl;
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  FSC_ASSIGN_OR_RETURN(pair.cert_chain, ReadPem(options.tls_cert, "--tls-cert"));
  FSC_ASSIGN_OR_RETURN(pair.private_key, ReadPem(options.tls_key, "--tls-key"));
  ssl.pem_key_cert_pairs.push_back(std::move(pair));
  if (!options.tls_client_ca.empty()) {
    FSC_ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadPem(options.tls_client_ca, "--tls-client-ca"));
    // Users' CLIs share the port and carry no certificate; a certificate that is presented must
    // verify, and worker calls insist on one (Authenticator).
    ssl.client_certificate_request = GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY;
  } else {
    ssl.client_certificate_request = GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
  }
  return grpc::SslServerCredentials(ssl);
}

}  // namespace

absl::StatusOr<std::unique_ptr<CoordinatorServer>> CoordinatorServer::Start(
    const ServerOptions& options) {
  if (options.db_path.empty()) return absl::InvalidArgumentError("--db is required");
  if (options.data_dir.empty()) return absl::InvalidArgumentError("--data-dir is required");
  if (options.listen.empty()) return absl::InvalidArgumentError("--listen is required");
  const SchedulerOptions& sched = options.scheduler;
  if (sched.lease_ttl_ms < 100 || sched.lease_ttl_ms > 86400000) {
    return absl::InvalidArgumentError("--lease-ttl-ms must be within 100..86400000");
  }
  if (sched.heartbeat_ms < 10 || sched.heartbeat_ms >= sched.lease_ttl_ms) {
    return absl::InvalidArgumentError(
        "--heartbeat-ms must be at least 10 and less than --lease-ttl-ms (a worker must beat "
        "several times per lease)");
  }
  if (sched.max_attempts < 1 || sched.max_attempts > 20) {
    return absl::InvalidArgumentError("--max-attempts must be within 1..20");
  }
  if (sched.max_tasks_per_job < 2 || sched.max_tasks_per_job > kMaxTasksPerJob) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max-tasks-per-job must be within 2..", kMaxTasksPerJob));
  }
  if (sched.max_jobs_per_user < 1) {
    return absl::InvalidArgumentError("--max-jobs-per-user must be at least 1");
  }
  if (sched.blob_grace_ms < 0) {
    return absl::InvalidArgumentError("--blob-grace-s must not be negative");
  }
  FSC_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials, Credentials(options));

  std::unique_ptr<CoordinatorServer> server(new CoordinatorServer());
  FSC_ASSIGN_OR_RETURN(server->store_, Store::Open(options.db_path));
  FSC_ASSIGN_OR_RETURN(server->blobs_, BlobStore::Open(options.data_dir));
  server->scheduler_ =
      std::make_unique<Scheduler>(server->store_.get(), server->blobs_.get(), options.scheduler);
  server->metrics_ = std::make_unique<CoordinatorMetrics>(server->scheduler_.get());
  server->auth_ =
      std::make_unique<Authenticator>(server->store_.get(), !options.tls_client_ca.empty());
  server->client_service_ = std::make_unique<ClientServiceImpl>(
      server->scheduler_.get(), server->store_.get(), server->blobs_.get(), server->auth_.get());
  server->worker_service_ = std::make_unique<WorkerServiceImpl>(
      server->scheduler_.get(), server->blobs_.get(), server->auth_.get());
  server->rendezvous_service_ =
      std::make_unique<RendezvousServiceImpl>(server->scheduler_.get(), server->auth_.get());

  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, credentials, &server->port_);
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
  builder.RegisterService(server->client_service_.get());
  builder.RegisterService(server->worker_service_.get());
  builder.RegisterService(server->rendezvous_service_.get());
  // fsc_rpc_duration_seconds for every call, with every method's series there from the start.
  builder.experimental().SetInterceptorCreators(metrics::RpcMetricsInterceptors());
  metrics::InitRpcMetrics(
      {"fsc.proto.ClientService", "fsc.proto.WorkerService", "fsc.proto.RendezvousService"});
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on '", options.listen,
                     "' (is another process using the port, or is the address not local?)"));
  }
  server->scheduler_->Start();
  std::cerr << "fsc-coordinator: serving on port " << server->port_ << " ("
            << (options.insecure
                    ? "plaintext"
                    : (options.tls_client_ca.empty() ? "TLS" : "TLS, mTLS for workers"))
            << "), db " << options.db_path << ", data " << options.data_dir << ", lease ttl "
            << sched.lease_ttl_ms << " ms, heartbeat " << sched.heartbeat_ms
            << " ms; limits: " << sched.max_tasks_per_job << " tasks per job, "
            << sched.max_jobs_per_user << " active jobs and " << (sched.max_bytes_per_user >> 20)
            << " MiB of datasets per "
            << "user\n";
  return server;
}

void CoordinatorServer::Shutdown() {
  if (shut_down_ || server_ == nullptr) return;
  shut_down_ = true;
  // Wake long-polls and streams first so the handlers return, then let gRPC drain.
  scheduler_->Shutdown();
  rendezvous_service_->Shutdown();
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
}

void CoordinatorServer::Wait() { server_->Wait(); }

CoordinatorServer::~CoordinatorServer() {
  if (scheduler_ != nullptr) scheduler_->Shutdown();
  if (server_ == nullptr) return;
  Shutdown();
  server_->Wait();
}

}  // namespace fsc::coordinator
