// `fsc cluster up/down --local`: a whole cluster (one fsc-coordinator, N fsc-workers) as detached
// processes on 127.0.0.1, everything it needs kept in one state folder:
//
//   STATE/certs/        throwaway CA, coordinator server cert, worker client cert (unless insecure)
//   STATE/coordinator.db, STATE/data/   the coordinator's job store and blob store
//   STATE/join-token    the cluster join token (0600)
//   STATE/cluster.json  port and transport, so a later `up` restarts on the same address; the
//                       metrics port of each process
//   STATE/prometheus.yml  a Prometheus config scraping every process's /metrics (each process
//                       serves them on 127.0.0.1 at a free port; see cli/prometheus_config.h)
//   STATE/config.json   the client config (address, user token, CA) for FSC_CONFIG
//   STATE/logs/         coordinator.log, worker-N.log
//   STATE/pids/         coordinator.pid, worker-N.pid
//   STATE/workers/N/    each worker's cache and work folders
//
// `up` is idempotent: it starts only what is not running (a coordinator killed with -9 comes back
// on the same port and database; missing workers are started again) and reuses tokens and certs.
#ifndef FSC_CLI_LOCAL_CLUSTER_H_
#define FSC_CLI_LOCAL_CLUSTER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace fsc::cli {

// The default state folder: $XDG_STATE_HOME/fsc/cluster when XDG_STATE_HOME is set, else
// ./.fsc-cluster.
std::string DefaultClusterDir();

struct LocalClusterOptions {
  std::string dir;             // state folder (made absolute)
  int workers = 2;             // fsc-worker processes
  int port = 0;                // 0: the port of the last run, else a free one
  bool insecure = false;       // plaintext gRPC instead of TLS + mTLS for workers
  int threads_per_worker = 0;  // 0: the machine's cores split across the workers
  int64_t lease_ttl_ms = 0;    // 0: the coordinator's default
  std::string user;            // the user the client token belongs to ($USER, else "local")
  absl::Duration start_timeout = absl::Seconds(60);
};

struct LocalClusterReport {
  std::string address;                    // 127.0.0.1:PORT
  std::string config_path;                // STATE/config.json
  std::string prometheus_config;          // STATE/prometheus.yml
  std::vector<std::string> metrics_urls;  // http://127.0.0.1:PORT/metrics of every process
  bool already_up = false;                // the coordinator and every worker were already running
  std::vector<std::string> started;       // what this call started ("coordinator", "worker-2")
  int workers_alive = 0;                  // as the coordinator sees them
};

// Brings the local cluster up (see above). Progress lines go to stderr.
absl::StatusOr<LocalClusterReport> LocalClusterUp(const LocalClusterOptions& options);

// Stops the workers, then the coordinator (SIGTERM, SIGKILL after `grace`) and removes their pid
// files. Returns the names of what was stopped (empty when nothing was running).
absl::StatusOr<std::vector<std::string>> LocalClusterDown(const std::string& dir,
                                                          absl::Duration grace);

// A process of the local cluster as its pid file says.
struct LocalProcessInfo {
  std::string name;  // "coordinator", "worker-1", ...
  int pid = 0;
  bool running = false;
  std::string log_path;
};
std::vector<LocalProcessInfo> LocalClusterProcesses(const std::string& dir);

}  // namespace fsc::cli

#endif  // FSC_CLI_LOCAL_CLUSTER_H_
