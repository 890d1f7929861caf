// The Prometheus configuration `fsc cluster up --local` writes to STATE/prometheus.yml: one scrape
// job per process kind (fsc-coordinator, fsc-worker) with a static target per process, labelled
// like the Kubernetes deployment's pods (component, pod) so that the Grafana dashboards of
// k8s/grafana work on either. Run `prometheus --config.file=STATE/prometheus.yml` to watch a local
// cluster.
#ifndef FSC_CLI_PROMETHEUS_CONFIG_H_
#define FSC_CLI_PROMETHEUS_CONFIG_H_

#include <string>
#include <vector>

namespace fsc::cli {

struct ScrapeTarget {
  std::string job;        // "fsc-coordinator", "fsc-worker"
  std::string address;    // host:port of its /metrics
  std::string component;  // "coordinator", "worker"
  std::string pod;        // the process's name ("coordinator", "worker-1")
};

// The YAML text, targets grouped by job in the order first seen. `scrape_interval_s` >= 1.
std::string PrometheusConfig(const std::vector<ScrapeTarget>& targets, int scrape_interval_s);

}  // namespace fsc::cli

#endif  // FSC_CLI_PROMETHEUS_CONFIG_H_
