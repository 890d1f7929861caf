// Renders a Prometheus scrape configuration for a local cluster.
#include "cli/prometheus_config.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace fsc::cli {
namespace {

// A YAML double-quoted scalar (our values are host:port and plain names; escape anyway).
std::string Quote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string PrometheusConfig(const std::vector<ScrapeTarget>& targets, int scrape_interval_s) {
  const int interval = std::max(1, scrape_interval_s);
  std::string out = absl::StrCat(
      "# Written by `fsc cluster up --local`: scrapes every process of this local cluster.\n"
      "# Run: prometheus --config.file=THIS_FILE (then point Grafana at it for k8s/grafana).\n"
      "global:\n  scrape_interval: ",
      interval, "s\n  evaluation_interval: ", interval, "s\nscrape_configs:\n");
  std::vector<std::string> jobs;
  for (const ScrapeTarget& target : targets) {
    if (std::find(jobs.begin(), jobs.end(), target.job) == jobs.end()) jobs.push_back(target.job);
  }
  if (jobs.empty()) return out + "  []\n";
  for (const std::string& job : jobs) {
    absl::StrAppend(&out, "  - job_name: ", Quote(job), "\n    static_configs:\n");
    for (const ScrapeTarget& target : targets) {
      if (target.job != job) continue;
      absl::StrAppend(&out, "      - targets: [", Quote(target.address), "]\n",
                      "        labels:\n          component: ", Quote(target.component),
                      "\n          pod: ", Quote(target.pod), "\n");
    }
  }
  return out;
}

}  // namespace fsc::cli
