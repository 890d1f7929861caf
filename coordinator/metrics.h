// The coordinator's scrape-time metrics: fsc_jobs{state}, fsc_queue_depth and
// fsc_workers{role,state} of core/metrics/standard_metrics.h, computed from the scheduler (one
// ClusterStatus: a few SQLite counts) when /metrics is scraped, so that an unscraped coordinator
// pays nothing and a scrape is never stale. Every job state and every role x state is exported,
// at zero when empty, so dashboards and alerts see the series from the start.
//
// fsc_lease_expiries_total is counted by the scheduler, fsc_rpc_duration_seconds by the server's
// interceptor (core/metrics/rpc_interceptor.h).
#ifndef FSC_COORDINATOR_METRICS_H_
#define FSC_COORDINATOR_METRICS_H_

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "coordinator/scheduler.h"
#include "core/metrics/exposition.h"
#include "proto/fsc.pb.h"

namespace fsc::coordinator {

// The three families from one ClusterStatus answer. Workers with several roles count once per
// role; a worker is "lost" when not alive, else "busy" with a leased task, else "idle".
std::vector<prometheus::MetricFamily> ClusterFamilies(const proto::ClusterStatusResponse& status);

class CoordinatorMetrics final : public prometheus::Collectable {
 public:
  // Adds itself to `exposition` until destroyed; `scheduler` must outlive this object.
  explicit CoordinatorMetrics(Scheduler* scheduler,
                              metrics::Exposition* exposition = &metrics::Exposition::Default());
  // Leaves the exposition (waits for a scrape in progress).
  ~CoordinatorMetrics() override;
  CoordinatorMetrics(const CoordinatorMetrics&) = delete;
  CoordinatorMetrics& operator=(const CoordinatorMetrics&) = delete;

  // The families now; when the status cannot be read, the last ones (the scrape still answers).
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  Scheduler* scheduler_;
  metrics::Exposition* exposition_;
  mutable absl::Mutex mu_;
  mutable std::vector<prometheus::MetricFamily> last_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fsc::coordinator

#endif  // FSC_COORDINATOR_METRICS_H_
