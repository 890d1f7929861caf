// The coordinator process: opens the store and blob store, builds the scheduler and the three
// gRPC services, and serves them on one port with TLS (optionally requiring worker client
// certificates) or, when asked, plaintext.
#ifndef FSC_COORDINATOR_SERVER_H_
#define FSC_COORDINATOR_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "coordinator/auth.h"
#include "coordinator/blob_store.h"
#include "coordinator/client_service.h"
#include "coordinator/metrics.h"
#include "coordinator/rendezvous_service.h"
#include "coordinator/scheduler.h"
#include "coordinator/store.h"
#include "coordinator/worker_service.h"

namespace fsc::coordinator {

struct ServerOptions {
  std::string listen = "127.0.0.1:7070";  // host:port; port 0 picks a free one
  std::string db_path;
  std::string data_dir;
  std::string tls_cert;       // PEM server certificate chain
  std::string tls_key;        // PEM private key
  std::string tls_client_ca;  // PEM CA for worker client certificates (mTLS); optional
  bool insecure = false;      // plaintext (logs a warning)
  SchedulerOptions scheduler;
};

class CoordinatorServer {
 public:
  // Validates the options (INVALID_ARGUMENT naming the flag), opens everything and starts
  // serving. UNAVAILABLE when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<CoordinatorServer>> Start(const ServerOptions& options);
  ~CoordinatorServer();

  int port() const { return port_; }
  // Stops accepting calls, ends streams and long-polls, waits for handlers (up to a deadline).
  void Shutdown();
  void Wait();

  Scheduler* scheduler() { return scheduler_.get(); }
  Store* store() { return store_.get(); }

 private:
  CoordinatorServer() = default;

  std::unique_ptr<Store> store_;
  std::unique_ptr<BlobStore> blobs_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<CoordinatorMetrics> metrics_;  // reads scheduler_: declared (so dies) after it
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<ClientServiceImpl> client_service_;
  std::unique_ptr<WorkerServiceImpl> worker_service_;
  std::unique_ptr<RendezvousServiceImpl> rendezvous_service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool shut_down_ = false;
};

}  // namespace fsc::coordinator

#endif  // FSC_COORDINATOR_SERVER_H_
