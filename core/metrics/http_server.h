// MetricsServer: serves a Registry as GET /metrics (Prometheus text format 0.0.4) over HTTP,
// using civetweb. Any other path answers 404, other methods on /metrics 405.
//
//   metrics::MetricsServer server(&metrics::Registry::Default());
//   absl::Status started = server.Start("0.0.0.0", flag_port);  // 0: any free port
//   ... server.port() is the bound port ...
//   server.Stop();  // or let the destructor do it
//
// Each scrape collects the registry on one of civetweb's two request threads (callbacks run
// there). Note civetweb's process-wide side effect: starting it sets SIGPIPE to SIG_IGN, so a
// write to a closed pipe fails with EPIPE instead of killing the process. Stop() can take up to
// civetweb's poll interval (2 s).
#ifndef FSC_CORE_METRICS_HTTP_SERVER_H_
#define FSC_CORE_METRICS_HTTP_SERVER_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "core/metrics/registry.h"

struct mg_context;
struct mg_connection;

namespace fsc::metrics {

class MetricsServer {
 public:
  // `registry` must outlive the server.
  explicit MetricsServer(const Registry* registry = &Registry::Default());
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Listens on `host` (an IPv4 address, "0.0.0.0" for every interface, or "localhost") and
  // `port` (0: a free port, see port()). Errors: InvalidArgument for a bad host or port,
  // FailedPrecondition when already started, Unavailable when the port cannot be bound (the
  // message names the address and the reason, e.g. "Address already in use").
  absl::Status Start(absl::string_view host, int port);
  // Stops listening and waits for requests in flight; no-op when not started.
  void Stop();

  bool running() const { return context_ != nullptr; }
  // The bound port while running, else 0.
  int port() const { return port_; }
  // "http://HOST:PORT/metrics" while running.
  std::string url() const;

 private:
  static int HandleRequest(mg_connection* connection);
  static int LogMessage(const mg_connection* connection, const char* message);

  const Registry* registry_;
  mg_context* context_ = nullptr;
  std::string host_;
  int port_ = 0;
};

}  // namespace fsc::metrics

#endif  // FSC_CORE_METRICS_HTTP_SERVER_H_
