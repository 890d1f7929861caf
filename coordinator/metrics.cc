// The coordinator's jobs, queue and workers, computed when /metrics is scraped.
#include "coordinator/metrics.h"

#include <iostream>
#include <map>
#include <string>
#include <utility>

#include "core/metrics/standard_metrics.h"
#include "core/rpc/job_names.h"

namespace fsc::coordinator {
namespace {

const char* const kWorkerStates[] = {"idle", "busy", "lost"};

prometheus::MetricFamily JobsFamily(const proto::ClusterStatusResponse& status) {
  prometheus::MetricFamily jobs = metrics::GaugeFamily(metrics::kJobs.name, metrics::kJobs.help);
  // Every job state, zero unless counted.
  for (int value = proto::JobState_MIN; value <= proto::JobState_MAX; ++value) {
    if (!proto::JobState_IsValid(value)) continue;
    const auto state = static_cast<proto::JobState>(value);
    if (state == proto::JOB_STATE_UNSPECIFIED) continue;
    auto found = status.jobs_by_state().find(proto::JobState_Name(state));
    metrics::AddSample(
        &jobs, {{"state", rpc::JobStateName(state)}},
        found == status.jobs_by_state().end() ? 0 : static_cast<double>(found->second));
  }
  return jobs;
}

prometheus::MetricFamily WorkersFamily(const proto::ClusterStatusResponse& status) {
  std::map<std::pair<std::string, std::string>, double> counts;
  // Label values of fsc_workers{role}: the role names users pass to fsc-worker --roles.
  for (const std::string& role : rpc::EnumWords(*proto::WorkerRole_descriptor())) {
    for (const char* state : kWorkerStates) counts[{role, state}] = 0;
  }
  for (const proto::WorkerInfo& worker : status.workers()) {
    const char* state = !worker.alive() ? "lost" : (worker.task_ids_size() > 0 ? "busy" : "idle");
    for (int role : worker.roles()) {
      const std::string name = rpc::WorkerRoleName(static_cast<proto::WorkerRole>(role));
      if (name != "unknown") counts[{name, state}] += 1;
    }
  }
  prometheus::MetricFamily workers =
      metrics::GaugeFamily(metrics::kWorkers.name, metrics::kWorkers.help);
  for (const auto& [labels, count] : counts) {
    metrics::AddSample(&workers, {{"role", labels.first}, {"state", labels.second}}, count);
  }
  return workers;
}

}  // namespace

std::vector<prometheus::MetricFamily> ClusterFamilies(const proto::ClusterStatusResponse& status) {
  prometheus::MetricFamily queue =
      metrics::GaugeFamily(metrics::kQueueDepth.name, metrics::kQueueDepth.help);
  metrics::AddSample(&queue, {}, static_cast<double>(status.queued_tasks()));
  return {JobsFamily(status), std::move(queue), WorkersFamily(status)};
}

CoordinatorMetrics::CoordinatorMetrics(Scheduler* scheduler, metrics::Exposition* exposition)
    : scheduler_(scheduler), exposition_(exposition) {
  metrics::Standard();  // the coordinator's registry families exist from the start
  last_ = ClusterFamilies(proto::ClusterStatusResponse());
  exposition_->Add(this);
}

CoordinatorMetrics::~CoordinatorMetrics() { exposition_->Remove(this); }

std::vector<prometheus::MetricFamily> CoordinatorMetrics::Collect() const {
  absl::StatusOr<proto::ClusterStatusResponse> status = scheduler_->ClusterStatus(/*owner=*/"");
  absl::MutexLock lock(&mu_);
  if (!status.ok()) {
    std::cerr << "fsc-coordinator: metrics: cannot read the cluster status: "
              << status.status().message() << "\n";
    return last_;
  }
  last_ = ClusterFamilies(*status);
  return last_;
}

}  // namespace fsc::coordinator
