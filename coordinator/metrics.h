// The coordinator's gauges: fsc_jobs{state}, fsc_queue_depth and fsc_workers{role,state} of
// core/metrics/standard_metrics.h, refreshed from the scheduler (one ClusterStatus: a few SQLite
// counts) at the start of each scrape of the default registry, so that an unscraped coordinator
// pays nothing and a scrape is never stale. Every job state and every role x state is exported,
// at zero when empty, so dashboards and alerts see the series from the start.
//
// fsc_lease_expiries_total is counted by the scheduler, fsc_rpc_duration_seconds by the server's
// interceptor (core/metrics/rpc_interceptor.h).
#ifndef FSC_COORDINATOR_METRICS_H_
#define FSC_COORDINATOR_METRICS_H_

#include "absl/status/status.h"
#include "coordinator/scheduler.h"
#include "proto/fsc.pb.h"

namespace fsc::coordinator {

// Sets the gauges from one ClusterStatus answer. Workers with several roles count once per role;
// a worker is "lost" when not alive, else "busy" with a leased task, else "idle".
void SetClusterGauges(const proto::ClusterStatusResponse& status);

class CoordinatorMetrics {
 public:
  // Registers the refresh as a collect hook of the default registry; `scheduler` must outlive
  // this object.
  explicit CoordinatorMetrics(Scheduler* scheduler);
  // Unregisters it (waits for a refresh in progress).
  ~CoordinatorMetrics();
  CoordinatorMetrics(const CoordinatorMetrics&) = delete;
  CoordinatorMetrics& operator=(const CoordinatorMetrics&) = delete;

 private:
  void Refresh();

  Scheduler* scheduler_;
  int hook_id_ = 0;
};

}  // namespace fsc::coordinator

#endif  // FSC_COORDINATOR_METRICS_H_
