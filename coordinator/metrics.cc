// Refreshes the coordinator's gauges from the scheduler when the registry is scraped.
#include "coordinator/metrics.h"

#include <iostream>
#include <map>
#include <string>
#include <utility>

#include "core/metrics/registry.h"
#include "core/metrics/standard_metrics.h"
#include "core/rpc/job_names.h"

namespace fsc::coordinator {
namespace {

// Label values of fsc_workers{role}: the role names users pass to fsc-worker --roles.
const std::pair<proto::WorkerRole, const char*> kRoles[] = {{proto::ROLE_EXTRACT, "extract"},
                                                            {proto::ROLE_CONVERT, "convert"},
                                                            {proto::ROLE_TRAIN, "train"}};
const char* const kWorkerStates[] = {"idle", "busy", "lost"};

}  // namespace

void SetClusterGauges(const proto::ClusterStatusResponse& status) {
  const metrics::StandardMetrics& m = metrics::Standard();
  // Every job state, zero unless counted.
  for (int value = proto::JobState_MIN; value <= proto::JobState_MAX; ++value) {
    if (!proto::JobState_IsValid(value)) continue;
    const auto state = static_cast<proto::JobState>(value);
    if (state == proto::JOB_STATE_UNSPECIFIED) continue;
    auto found = status.jobs_by_state().find(proto::JobState_Name(state));
    m.jobs->WithLabels({rpc::JobStateName(state)})
        .Set(found == status.jobs_by_state().end() ? 0 : static_cast<double>(found->second));
  }
  m.queue_depth->Set(static_cast<double>(status.queued_tasks()));

  std::map<std::pair<std::string, std::string>, double> workers;
  for (const auto& [role, role_name] : kRoles) {
    for (const char* state : kWorkerStates) workers[{role_name, state}] = 0;
  }
  for (const proto::WorkerInfo& worker : status.workers()) {
    const char* state = !worker.alive() ? "lost" : (worker.task_ids_size() > 0 ? "busy" : "idle");
    for (int role : worker.roles()) {
      for (const auto& [known, role_name] : kRoles) {
        if (role == known) workers[{role_name, state}] += 1;
      }
    }
  }
  for (const auto& [labels, count] : workers) {
    m.workers->WithLabels({labels.first, labels.second}).Set(count);
  }
}

CoordinatorMetrics::CoordinatorMetrics(Scheduler* scheduler) : scheduler_(scheduler) {
  metrics::Standard();  // the families exist (and are exported) from the start
  hook_id_ = metrics::Registry::Default().AddCollectHook([this] { Refresh(); });
}

CoordinatorMetrics::~CoordinatorMetrics() {
  metrics::Registry::Default().RemoveCollectHook(hook_id_);
}

void CoordinatorMetrics::Refresh() {
  absl::StatusOr<proto::ClusterStatusResponse> status = scheduler_->ClusterStatus(/*owner=*/"");
  if (!status.ok()) {
    // The scrape still answers, with the last values.
    std::cerr << "fsc-coordinator: metrics: cannot read the cluster status: "
              << status.status().message() << "\n";
    return;
  }
  SetClusterGauges(*status);
}

}  // namespace fsc::coordinator
