// The coordinator's observability over a real SQLite store and blob store: the job, queue and
// worker gauges as a scrape of the default exposition computes them (the coordinator's
// collector), and training previews (validation, one latest per job, owner-only reading, kept
// across a reopen).
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "coordinator/datasets.h"
#include "coordinator/metrics.h"
#include "coordinator/previews.h"
#include "coordinator/scheduler.h"
#include "coordinator/tokens.h"
#include "core/metrics/exposition.h"
#include "tests/test_paths.h"
#include "tests/unit/scheduler_fixture.h"

namespace fsc::coordinator {
namespace {

// "name{labels}" -> value of gauge and counter families (labels as given, in order).
std::map<std::string, double> Values(const std::vector<prometheus::MetricFamily>& families) {
  std::map<std::string, double> values;
  for (const prometheus::MetricFamily& family : families) {
    for (const prometheus::ClientMetric& metric : family.metric) {
      std::string key = family.name;
      if (!metric.label.empty()) {
        key += "{";
        for (size_t i = 0; i < metric.label.size(); ++i) {
          key += (i ? "," : "") + metric.label[i].name + "=" + metric.label[i].value;
        }
        key += "}";
      }
      values[key] = family.type == prometheus::MetricType::Counter ? metric.counter.value
                                                                   : metric.gauge.value;
    }
  }
  return values;
}

// One scrape of the default exposition.
std::map<std::string, double> Scrape() { return Values(metrics::Exposition::Default().Collect()); }

class CoordinatorMetricsTest : public SchedulerFixture {
 protected:
  void SetUp() override {
    options_.log_to_stderr = false;
    Open("coordinator_metrics");
  }

  std::string Submit(const std::string& owner, proto::JobKind kind) {
    proto::JobSpec spec;
    spec.set_kind(kind);
    if (kind == proto::JOB_TRAIN) {
      spec.set_faces_a_dataset(Images(owner, 2, "a"));
      spec.set_faces_b_dataset(Images(owner, 2, "b"));
    } else {
      spec.set_input_dataset(Images(owner, 2, "x"));
    }
    auto job = scheduler_->Submit(owner, spec);
    EXPECT_TRUE(job.ok()) << job.status();
    return job->id();
  }
  proto::ReportProgressRequest Progress(const std::string& worker, const proto::Task& task,
                                        const proto::FileEntry& preview, int64_t iteration) {
    proto::ReportProgressRequest request;
    request.set_worker_id(worker);
    request.set_task_id(task.id());
    request.set_progress(0.5);
    request.set_unit("it");
    *request.mutable_preview() = preview;
    request.set_preview_iteration(iteration);
    return request;
  }
  absl::StatusOr<proto::GetPreviewResponse> Preview(const std::string& owner,
                                                    const std::string& job) {
    absl::StatusOr<proto::Job> view = scheduler_->GetJob(owner, job);
    if (!view.ok()) return view.status();
    return LoadPreview(store_.get(), *blobs_, *view);
  }
};

TEST_F(CoordinatorMetricsTest, ScrapeComputesJobQueueAndWorkerGauges) {
  std::map<std::string, double> none = Scrape();
  EXPECT_EQ(none.count("fsc_queue_depth"), 0u);  // no coordinator collector, no cluster gauges
  CoordinatorMetrics collector(scheduler_.get());
  std::map<std::string, double> empty = Scrape();
  EXPECT_EQ(empty["fsc_jobs{state=queued}"], 0);
  EXPECT_EQ(empty["fsc_jobs{state=succeeded}"], 0);
  EXPECT_EQ(empty["fsc_queue_depth"], 0);
  EXPECT_EQ(empty.count("fsc_workers{role=train,state=idle}"), 1u);

  Submit("alice", proto::JOB_TRAIN);
  Submit("alice", proto::JOB_EXTRACT);
  const std::string trainer = Worker({proto::ROLE_TRAIN, proto::ROLE_CONVERT});
  Worker({proto::ROLE_EXTRACT});
  std::map<std::string, double> before = Scrape();
  EXPECT_EQ(before["fsc_jobs{state=queued}"], 2);
  EXPECT_GE(before["fsc_queue_depth"], 2);  // the train task and the extract task(s)
  EXPECT_EQ(before["fsc_workers{role=train,state=idle}"], 1);
  EXPECT_EQ(before["fsc_workers{role=convert,state=idle}"], 1);
  EXPECT_EQ(before["fsc_workers{role=extract,state=idle}"], 1);

  auto leased = scheduler_->LeaseTask(trainer, 0, nullptr);
  ASSERT_TRUE(leased.ok() && leased->has_value());
  std::map<std::string, double> after = Scrape();
  EXPECT_EQ(after["fsc_jobs{state=running}"], 1);
  EXPECT_EQ(after["fsc_jobs{state=queued}"], 1);
  EXPECT_EQ(after["fsc_queue_depth"], before["fsc_queue_depth"] - 1);
  EXPECT_EQ(after["fsc_workers{role=train,state=busy}"], 1);
  EXPECT_EQ(after["fsc_workers{role=convert,state=busy}"], 1);  // one worker, both roles
  EXPECT_EQ(after["fsc_workers{role=train,state=idle}"], 0);
}

TEST_F(CoordinatorMetricsTest, LostWorkersAndLeaseExpiriesAreCounted) {
  CoordinatorMetrics collector(scheduler_.get());
  Submit("alice", proto::JOB_TRAIN);
  const std::string worker = Worker({proto::ROLE_TRAIN});
  auto leased = scheduler_->LeaseTask(worker, 0, nullptr);
  ASSERT_TRUE(leased.ok() && leased->has_value());
  const double expired_before = Scrape()["fsc_lease_expiries_total"];
  // Far in the future: the worker stopped heartbeating long ago.
  ASSERT_TRUE(scheduler_->ExpireLeases(Scheduler::NowMs() + 10 * options_.lease_ttl_ms).ok());
  std::map<std::string, double> values = Scrape();
  EXPECT_EQ(values["fsc_lease_expiries_total"], expired_before + 1);
  EXPECT_EQ(values["fsc_jobs{state=queued}"] + values["fsc_jobs{state=running}"], 1);
}

TEST_F(CoordinatorMetricsTest, ClusterFamiliesCountEveryRoleOfAWorker) {
  proto::ClusterStatusResponse status;
  (*status.mutable_jobs_by_state())["JOB_FAILED"] = 3;
  status.set_queued_tasks(7);
  proto::WorkerInfo* lost = status.add_workers();
  lost->add_roles(proto::ROLE_EXTRACT);
  lost->add_roles(proto::ROLE_CONVERT);
  lost->set_alive(false);
  proto::WorkerInfo* busy = status.add_workers();
  busy->add_roles(proto::ROLE_EXTRACT);
  busy->set_alive(true);
  busy->add_task_ids("t1");
  std::map<std::string, double> values = Values(ClusterFamilies(status));
  EXPECT_EQ(values["fsc_jobs{state=failed}"], 3);
  EXPECT_EQ(values["fsc_jobs{state=running}"], 0);
  EXPECT_EQ(values["fsc_queue_depth"], 7);
  EXPECT_EQ(values["fsc_workers{role=extract,state=lost}"], 1);
  EXPECT_EQ(values["fsc_workers{role=convert,state=lost}"], 1);
  EXPECT_EQ(values["fsc_workers{role=extract,state=busy}"], 1);
  EXPECT_EQ(values["fsc_workers{role=train,state=busy}"], 0);
}

TEST_F(CoordinatorMetricsTest, LatestPreviewPerJobForItsOwnerOnly) {
  const std::string job = Submit("alice", proto::JOB_TRAIN);
  const std::string worker = Worker({proto::ROLE_TRAIN});
  auto leased = scheduler_->LeaseTask(worker, 0, nullptr);
  ASSERT_TRUE(leased.ok() && leased->has_value());
  const proto::Task task = **leased;

  absl::StatusOr<proto::GetPreviewResponse> none = Preview("alice", job);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_FALSE(none->available());
  EXPECT_EQ(none->job_state(), proto::JOB_RUNNING);

  // A preview whose blob was never uploaded is refused, and nothing is recorded.
  proto::FileEntry missing;
  missing.set_path("preview.png");
  missing.set_size(4);
  missing.set_sha256(std::string(64, 'a'));
  EXPECT_EQ(scheduler_->ReportProgress(Progress(worker, task, missing, 10)).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(Preview("alice", job)->available());

  const proto::FileEntry first = Blob("preview.png", "\x89PNG first");
  const proto::FileEntry second = Blob("preview.png", "\x89PNG second");
  ASSERT_TRUE(scheduler_->ReportProgress(Progress(worker, task, first, 10)).ok());
  ASSERT_TRUE(scheduler_->ReportProgress(Progress(worker, task, second, 20)).ok());
  absl::StatusOr<proto::GetPreviewResponse> latest = Preview("alice", job);
  ASSERT_TRUE(latest.ok()) << latest.status();
  ASSERT_TRUE(latest->available());
  EXPECT_EQ(latest->png(), "\x89PNG second");
  EXPECT_EQ(latest->preview().iteration(), 20);
  EXPECT_EQ(latest->preview().task_id(), task.id());

  // A worker that does not hold the lease is told to stop; its preview is not kept.
  const std::string other = Worker({proto::ROLE_TRAIN});
  auto stale = scheduler_->ReportProgress(Progress(other, task, first, 30));
  ASSERT_TRUE(stale.ok()) << stale.status();
  EXPECT_TRUE(*stale);
  EXPECT_EQ(Preview("alice", job)->preview().iteration(), 20);

  // Another user learns nothing; the preview survives a restart.
  EXPECT_EQ(Preview("mallory", job).status().code(), absl::StatusCode::kNotFound);
  Reopen();
  EXPECT_EQ(Preview("alice", job)->png(), "\x89PNG second");
}

TEST_F(CoordinatorMetricsTest, PreviewsNeedATrainStage) {
  const std::string job = Submit("alice", proto::JOB_EXTRACT);
  EXPECT_EQ(Preview("alice", job).status().code(), absl::StatusCode::kFailedPrecondition);
  const std::string worker = Worker({proto::ROLE_EXTRACT});
  auto leased = scheduler_->LeaseTask(worker, 0, nullptr);
  ASSERT_TRUE(leased.ok() && leased->has_value());
  EXPECT_EQ(scheduler_->ReportProgress(Progress(worker, **leased, Blob("preview.png", "x"), 1))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  proto::ReportProgressRequest negative = Progress(worker, **leased, Blob("preview.png", "y"), -1);
  EXPECT_EQ(scheduler_->ReportProgress(negative).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fsc::coordinator
