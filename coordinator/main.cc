// fsc-coordinator: serves the cluster (default), or manages credentials in its database:
//   fsc-coordinator --listen ADDR --db PATH --data-dir DIR (--tls-cert F --tls-key F
//                   [--tls-client-ca F] | --insecure) [--lease-ttl-ms N --heartbeat-ms N
//                   --max-attempts N] [--metrics-port N [--metrics-host H]]
//   fsc-coordinator token create --db PATH --user NAME [--json]
//   fsc-coordinator join-token create --db PATH [--json]
#include <signal.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "coordinator/server.h"
#include "coordinator/store.h"
#include "coordinator/tokens.h"
#include "core/metrics/http_server.h"
#include "core/util/file_io.h"
#include "core/util/flags.h"
#include "core/util/stop_signal.h"

namespace fsc::coordinator {
namespace {

using Args = std::vector<std::string>;

bool ValidUserName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '-' || c == '_' || c == '.' || c == '@';
    if (!ok) return false;
  }
  return true;
}

void PrintCreated(const std::string& token, const std::string& user, bool json) {
  if (json) {
    nlohmann::json out = {{"token", token}};
    if (!user.empty()) out["user"] = user;
    std::cout << out.dump() << "\n";
  } else {
    std::cout << token << "\n";
  }
}

int RunTokenCreate(const Args& args, bool join) {
  std::string db;
  std::string user;
  bool json = false;
  util::FlagSet flags(join ? "fsc-coordinator join-token create" : "fsc-coordinator token create",
                      join ? "--db PATH [--json]" : "--db PATH --user NAME [--json]",
                      join ? "Creates a cluster join token: workers pass it to Register. It is "
                             "printed once; the database keeps only its SHA-256."
                           : "Creates a bearer token for a user of the fsc client. It is printed "
                             "once; the database keeps only its SHA-256.");
  flags.String("db", 0, &db, "the coordinator's SQLite database (created if missing)");
  if (!join)
    flags.String("user", 0, &user, "the user the token authenticates (letters, digits, -_.@)");
  flags.Bool("json", 0, &json, "print {\"token\": ...} as JSON");
  Args positional;
  if (std::optional<int> exit = flags.ParseOrExit(args, &positional)) return *exit;
  if (!positional.empty()) {
    std::cerr << "unexpected argument '" << positional[0] << "' (see --help)\n";
    return 2;
  }
  if (db.empty()) {
    std::cerr << "--db is required (see --help)\n";
    return 2;
  }
  if (!join && !ValidUserName(user)) {
    std::cerr << "--user must be 1 to 64 letters, digits or -_.@ (got '" << user << "')\n";
    return 2;
  }
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(db);
  if (!store.ok()) {
    std::cerr << "fsc-coordinator: " << store.status().message() << "\n";
    return 1;
  }
  std::string token = NewToken(join ? "fscj_" : "fscu_");
  absl::Status status = join ? (*store)->AddJoinToken(HashToken(token), Scheduler::NowMs())
                             : (*store)->AddUserToken(user, HashToken(token), Scheduler::NowMs());
  if (!status.ok()) {
    std::cerr << "fsc-coordinator: " << status.message() << "\n";
    return 1;
  }
  PrintCreated(token, user, json);
  return 0;
}

int RunServe(const Args& args) {
  ServerOptions options;
  std::string port_file;
  int lease_ttl_ms = static_cast<int>(options.scheduler.lease_ttl_ms);
  int heartbeat_ms = static_cast<int>(options.scheduler.heartbeat_ms);
  int max_attempts = options.scheduler.max_attempts;
  util::FlagSet flags(
      "fsc-coordinator",
      "--db PATH --data-dir DIR (--tls-cert F --tls-key F [--tls-client-ca F] | --insecure) "
      "[options]\n       fsc-coordinator token create --db PATH --user NAME [--json]\n"
      "       fsc-coordinator join-token create --db PATH [--json]",
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
    bool join = args[0] == "join-token";
    if (args.size() >= 2 && args[1] == "create") {
      return RunTokenCreate(Args(args.begin() + 2, args.end()), join);
    }
    if (args.size() >= 2 && (args[1] == "--help" || args[1] == "-h")) {
      return RunTokenCreate({"--help"}, join);
    }
    std::cerr << "usage: fsc-coordinator " << args[0] << " create --db PATH"
              << (join ? "" : " --user NAME") << " [--json]\n";
    return 2;
  }
  return RunServe(args);
}

}  // namespace
}  // namespace fsc::coordinator

int main(int argc, char** argv) {
  return fsc::coordinator::Main(std::vector<std::string>(argv + 1, argv + argc));
}
