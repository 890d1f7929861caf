// MetricsServer: serves an Exposition as GET /metrics (Prometheus text format 0.0.4) over HTTP,
// with cpp-httplib (Debian libcpp-httplib-dev). Any other path answers 404, other methods on
// /metrics 405.
//
//   metrics::MetricsServer server;                    // serves Exposition::Default()
//   absl::Status started = server.Start(kDefaultMetricsHost, flag_port);  // 0: any free port
//   ... server.port() is the bound port ...
//   server.Stop();  // or let the destructor do it
//
// Every connection gets a thread of its own (up to kMaxConnections at once; later ones wait in
// the kernel's backlog), so connections that send nothing cannot starve a scrape: a scrape is
// answered while they are held, and an idle connection is closed after idle_seconds. Stop()
// waits for the connections in progress, idle_seconds (or io_seconds mid-request) at most.
//
// fsc-coordinator, fsc-worker and fsc train share their --metrics-port/--metrics-host flags and
// start-up through MetricsFlags and StartMetrics.
#ifndef FSC_CORE_METRICS_HTTP_SERVER_H_
#define FSC_CORE_METRICS_HTTP_SERVER_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "core/metrics/exposition.h"
#include "core/util/flags.h"

namespace httplib {
class Server;
}

namespace fsc::metrics {

// Where --metrics-port listens unless --metrics-host says otherwise: this machine only. A
// deployment that scrapes from elsewhere says 0.0.0.0 (or an interface's address) explicitly.
inline constexpr char kDefaultMetricsHost[] = "127.0.0.1";

// Connections served at once.
inline constexpr int kMaxConnections = 256;

struct MetricsServerOptions {
  // A connection that sends no request for this long is closed.
  int idle_seconds = 2;
  // A request (or a reader of the answer) that stalls this long mid-way is dropped.
  int io_seconds = 5;
};

class MetricsServer {
 public:
  // `exposition` must outlive the server.
  explicit MetricsServer(const Exposition* exposition = &Exposition::Default(),
                         MetricsServerOptions options = {});
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Listens on `host` (an IPv4 address, "0.0.0.0" for every interface, or "localhost") and
  // `port` (0: a free port, see port()). Errors: InvalidArgument for a bad host or port,
  // FailedPrecondition when already started, Unavailable when the port cannot be bound (the
  // message names the address and the reason, e.g. "Address already in use").
  absl::Status Start(absl::string_view host, int port);
  // Stops listening and waits for the connections in progress; no-op when not started.
  void Stop();

  bool running() const { return server_ != nullptr; }
  // The bound port while running, else 0.
  int port() const { return port_; }
  // "http://HOST:PORT/metrics" while running.
  std::string url() const;

 private:
  const Exposition* exposition_;
  const MetricsServerOptions options_;
  std::unique_ptr<httplib::Server> server_;
  std::thread listener_;
  std::string host_;
  int port_ = 0;
};

// --metrics-port and --metrics-host, as every fsc process that serves metrics takes them.
struct MetricsFlags {
  int port = -1;  // -1: no metrics server
  std::string host = kDefaultMetricsHost;
};
void AddMetricsFlags(util::FlagSet* flags, MetricsFlags* values);

// With flags.port >= 0: exports the standard and process metrics in Exposition::Default() and
// starts `server` on the flags' address. OK and nothing started for port -1; errors as
// MetricsServer::Start (InvalidArgument for bad flags).
absl::Status StartMetrics(const MetricsFlags& flags, MetricsServer* server);

}  // namespace fsc::metrics

#endif  // FSC_CORE_METRICS_HTTP_SERVER_H_
