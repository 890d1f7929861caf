// The standard process_* metrics every Prometheus client exports, read from /proc/self at scrape
// time by a prometheus::Collectable:
//
//   process_cpu_seconds_total      counter  user + system CPU time
//   process_resident_memory_bytes  gauge    resident set size
//   process_virtual_memory_bytes   gauge    virtual memory size
//   process_open_fds               gauge    open file descriptors
//   process_max_fds                gauge    the soft limit on file descriptors
//   process_start_time_seconds     gauge    start time, seconds since the Unix epoch
//   process_threads                gauge    OS threads
//
// Linux only (/proc); where /proc cannot be read a series is left out of that scrape.
#ifndef FSC_CORE_METRICS_PROCESS_METRICS_H_
#define FSC_CORE_METRICS_PROCESS_METRICS_H_

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/metrics/exposition.h"

namespace fsc::metrics {

// The fields of /proc/PID/stat that the metrics need, in their units.
struct ProcStat {
  double cpu_seconds = 0;               // utime + stime
  double threads = 0;                   // num_threads
  double start_seconds_after_boot = 0;  // starttime
  double virtual_bytes = 0;             // vsize
  double resident_bytes = 0;            // rss pages * page size
};

// Parses the text of /proc/PID/stat (the command name may hold spaces and parentheses).
absl::StatusOr<ProcStat> ParseProcStat(absl::string_view text, double ticks_per_second,
                                       double page_size);
// The "btime" line of /proc/stat: boot time in seconds since the epoch.
absl::StatusOr<double> ParseBootTime(absl::string_view proc_stat);

// The families above, read when collected.
class ProcessCollector : public prometheus::Collectable {
 public:
  ProcessCollector();
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::optional<double> start_time_;  // read once: it does not change
};

// Adds one process-wide ProcessCollector to `exposition` (again: no-op).
void ExportProcessMetrics(Exposition* exposition = &Exposition::Default());

}  // namespace fsc::metrics

#endif  // FSC_CORE_METRICS_PROCESS_METRICS_H_
