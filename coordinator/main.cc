// fsc-coordinator: serves the cluster (default), or manages credentials in its database:
//   fsc-coordinator --listen ADDR --db PATH --data-dir DIR (--tls-cert F --tls-key F
//                   [--tls-client-ca F] | --insecure) [--lease-ttl-ms N --heartbeat-ms N
//                   --max-attempts N] [--metrics-port N [--metrics-host H]]
//   fsc-coordinator token create|list|revoke --db PATH ...       (coordinator/token_admin.h)
//   fsc-coordinator join-token create|list|revoke --db PATH ...
#include <signal.h>

#include <cctype>
#include <climits>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "coordinator/server.h"
#include "coordinator/token_admin.h"
#include "core/metrics/http_server.h"
#include "core/util/file_io.h"
#include "core/util/flags.h"
#include "core/util/stop_signal.h"

namespace fsc::coordinator {
namespace {

using Args = std::vector<std::string>;

// "100G", "512M", "1T", "4096": bytes, with an optional binary K/M/G/T suffix.
std::optional<int64_t> ParseBytes(const std::string& text) {
  if (text.empty()) return std::nullopt;
  int shift = 0;
  std::string digits = text;
  const std::string units = "KMGT";
  if (size_t unit = units.find(static_cast<char>(std::toupper(text.back())));
      unit != std::string::npos) {
    shift = 10 * static_cast<int>(unit + 1);
    digits.pop_back();
  }
  int64_t value = 0;
  if (!absl::SimpleAtoi(digits, &value) || value < 0 || value > (INT64_MAX >> shift)) {
    return std::nullopt;
  }
  return value << shift;
}

int RunServe(const Args& args) {
  ServerOptions options;
  std::string port_file;
  int lease_ttl_ms = static_cast<int>(options.scheduler.lease_ttl_ms);
  int heartbeat_ms = static_cast<int>(options.scheduler.heartbeat_ms);
  int max_attempts = options.scheduler.max_attempts;
  SchedulerOptions& limits = options.scheduler;
  std::string max_bytes_per_user = absl::StrCat(limits.max_bytes_per_user >> 30, "G");
  int blob_grace_s = static_cast<int>(limits.blob_grace_ms / 1000);
  util::FlagSet flags(
      "fsc-coordinator",
      "--db PATH --data-dir DIR (--tls-cert F --tls-key F [--tls-client-ca F] | --insecure) "
      "[options]\n       fsc-coordinator token create|list|revoke --db PATH ... (see "
      "'token --help')\n       fsc-coordinator join-token create|list|revoke --db PATH ...",
      "Serves the fsc cluster: jobs, tasks and leases (SQLite), datasets (content-addressed "
      "blobs), and the client, worker and rendezvous gRPC services. Stops cleanly on SIGTERM or "
      "SIGINT.");
  flags.String("listen", 0, &options.listen, "host:port to serve on (port 0: any free port)");
  flags.String("db", 0, &options.db_path, "SQLite database of jobs, tasks, workers and tokens");
  flags.String("data-dir", 0, &options.data_dir, "folder for blobs (datasets, task outputs)");
  flags.String("tls-cert", 0, &options.tls_cert, "PEM server certificate (chain)");
  flags.String("tls-key", 0, &options.tls_key, "PEM private key of --tls-cert");
  flags.String("tls-client-ca", 0, &options.tls_client_ca,
               "PEM CA of worker client certificates: workers must use mTLS");
  flags.Bool("insecure", 0, &options.insecure, "serve plaintext (no TLS): trusted networks only");
  flags.Int("lease-ttl-ms", 0, &lease_ttl_ms, "how long a task lease lasts without a heartbeat",
            {100, 86400000});
  flags.Int("heartbeat-ms", 0, &heartbeat_ms, "heartbeat interval told to workers", {10, 3600000});
  flags.Int("max-attempts", 0, &max_attempts, "attempts per task before its job fails", {1, 100});
  flags.String("port-file", 0, &port_file, "write the bound port number to this file");
  flags.Int("max-tasks-per-job", 0, &limits.max_tasks_per_job,
            "refuse jobs that would need more tasks (ask for larger --frames-per-task)");
  flags.Int("max-jobs-per-user", 0, &limits.max_jobs_per_user,
            "jobs one user may have queued or running at once");
  flags.String("max-bytes-per-user", 0, &max_bytes_per_user,
               "bytes of datasets one user may store, uploads in progress included (K/M/G/T)");
  flags.Int("blob-grace-s", 0, &blob_grace_s,
            "blobs nothing references are removed once older than this (uploads in progress "
            "are younger)");
  metrics::MetricsFlags metrics_flags;
  metrics::AddMetricsFlags(&flags, &metrics_flags);
  Args positional;
  if (std::optional<int> exit = flags.ParseOrExit(args, &positional)) return *exit;
  if (!positional.empty()) {
    std::cerr << "unexpected argument '" << positional[0] << "' (see --help)\n";
    return 2;
  }
  options.scheduler.lease_ttl_ms = lease_ttl_ms;
  options.scheduler.heartbeat_ms = heartbeat_ms;
  options.scheduler.max_attempts = max_attempts;
  std::optional<int64_t> bytes = ParseBytes(max_bytes_per_user);
  if (!bytes) {
    std::cerr << "--max-bytes-per-user: '" << max_bytes_per_user
              << "' is not a size (examples: 100G, 512M, 1T)\n";
    return 2;
  }
  limits.max_bytes_per_user = *bytes;
  limits.blob_grace_ms = int64_t{blob_grace_s} * 1000;

  // SIGTERM/SIGINT are read from a pipe below (core/util/stop_signal.h).
  if (absl::Status installed = util::InstallStopSignalHandlers(); !installed.ok()) {
    std::cerr << "fsc-coordinator: " << installed.message() << "\n";
    return 1;
  }

  // Metrics first, so that a taken port fails before the coordinator serves anything.
  metrics::MetricsServer metrics_server;
  if (absl::Status started = metrics::StartMetrics(metrics_flags, &metrics_server); !started.ok()) {
    std::cerr << "fsc-coordinator: --metrics-port: " << started.message() << "\n";
    return absl::IsInvalidArgument(started) ? 2 : 1;
  }
  if (metrics_server.running()) {
    std::cerr << "fsc-coordinator: metrics at " << metrics_server.url() << "\n";
  }

  absl::StatusOr<std::unique_ptr<CoordinatorServer>> server = CoordinatorServer::Start(options);
  if (!server.ok()) {
    std::cerr << "fsc-coordinator: " << server.status().message() << "\n";
    return absl::IsInvalidArgument(server.status()) ? 2 : 1;
  }
  if (!port_file.empty()) {
    absl::Status written =
        util::WriteFileAtomically(port_file, absl::StrCat((*server)->port(), "\n"));
    if (!written.ok()) {
      std::cerr << "fsc-coordinator: " << written.message() << "\n";
      return 1;
    }
  }
  const int signal_number = util::WaitForStopSignal();
  std::cerr << "fsc-coordinator: " << (signal_number == SIGINT ? "SIGINT" : "SIGTERM")
            << ": shutting down\n";
  (*server)->Shutdown();
  (*server)->Wait();
  metrics_server.Stop();  // its scrapes read the server's scheduler
  server->reset();
  std::cerr << "fsc-coordinator: stopped\n";
  return 0;
}

int Main(const Args& args) {
  if (args.size() >= 1 && (args[0] == "token" || args[0] == "join-token")) {
    return RunTokenCommand(Args(args.begin() + 1, args.end()),
                           args[0] == "token" ? TokenKind::kUser : TokenKind::kJoin);
  }
  return RunServe(args);
}

}  // namespace
}  // namespace fsc::coordinator

int main(int argc, char** argv) {
  return fsc::coordinator::Main(std::vector<std::string>(argv + 1, argv + argc));
}
