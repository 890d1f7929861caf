// The scheduler over a real SQLite store and blob store: priority then FIFO order, role
// matching, dependency gating with resolved inputs, lease expiry and re-lease with attempt+1,
// max attempts failing the job with the task's error, non-retryable failures, cancel, long-poll
// wake-up, event log, a restart on the same database; the per-user limits, each user's view of
// the cluster, and removing datasets with the collection of blobs nothing references.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <thread>

#include "absl/strings/str_format.h"
#include "coordinator/datasets.h"
#include "coordinator/scheduler.h"
#include "coordinator/tokens.h"
#include "core/util/sha256.h"
#include "tests/test_paths.h"
#include "tests/unit/scheduler_fixture.h"

namespace fsc::coordinator {
namespace {

class SchedulerTest : public SchedulerFixture {
 protected:
  void SetUp() override { OpenWithShortLeases("coordinator_scheduler"); }

  std::string SubmitExtract(const std::string& owner, const std::string& dataset, int priority,
                            int frames_per_task = 0) {
    proto::JobSpec spec;
    spec.set_kind(proto::JOB_EXTRACT);
    spec.set_input_dataset(dataset);
    spec.set_priority(priority);
    spec.set_frames_per_task(frames_per_task);
    auto job = scheduler_->Submit(owner, spec);
    EXPECT_TRUE(job.ok()) << job.status();
    return job->id();
  }

  std::optional<proto::Task> Lease(const std::string& worker) {
    auto task = scheduler_->LeaseTask(worker, 0, nullptr);
    EXPECT_TRUE(task.ok()) << task.status();
    return task.ok() ? *task : std::nullopt;
  }

  absl::Status Complete(const std::string& worker, const proto::Task& task) {
    std::vector<proto::FileEntry> outputs = {
        Blob("alignments.fsa", "alignments of " + task.id()),
        Blob("faces/" + task.id() + ".png", "face of " + task.id())};
    return scheduler_->CompleteTask(worker, task.id(), outputs);
  }

  proto::Job Job(const std::string& owner, const std::string& id) {
    auto job = scheduler_->GetJob(owner, id);
    EXPECT_TRUE(job.ok()) << job.status();
    return *job;
  }
};

TEST_F(SchedulerTest, HigherPriorityFirstThenFifo) {
  std::string images = Images("alice", 3);
  std::string low = SubmitExtract("alice", images, 1);
  std::string high1 = SubmitExtract("alice", images, 8);
  std::string high2 = SubmitExtract("alice", images, 8);
  std::string worker = Worker({proto::ROLE_EXTRACT});
  std::vector<std::string> jobs;
  while (auto task = Lease(worker)) jobs.push_back(task->job_id());
  // Merges wait for their extract tasks, so only the three extracts are leased.
  EXPECT_EQ(jobs, (std::vector<std::string>{high1, high2, low}));
}

TEST_F(SchedulerTest, RolesMatchTaskKinds) {
  std::string images = Images("alice", 2);
  SubmitExtract("alice", images, 0);
  proto::JobSpec train;
  train.set_kind(proto::JOB_TRAIN);
  train.set_faces_a_dataset(Images("alice", 2, "a"));
  train.set_faces_b_dataset(Images("alice", 2, "b"));
  ASSERT_TRUE(scheduler_->Submit("alice", train).ok());

  EXPECT_FALSE(Lease(Worker({proto::ROLE_CONVERT})).has_value());
  auto trained = Lease(Worker({proto::ROLE_TRAIN}));
  ASSERT_TRUE(trained.has_value());
  EXPECT_EQ(trained->kind(), proto::TASK_TRAIN);
  EXPECT_EQ(trained->spec().kind(), proto::JOB_TRAIN);
  EXPECT_EQ(trained->inputs_size(), 4);
  EXPECT_EQ(trained->inputs(0).path(), "faces_a/img_000.png");
  EXPECT_EQ(trained->inputs(2).path(), "faces_b/img_000.png");
  auto extracted = Lease(Worker({proto::ROLE_EXTRACT}));
  ASSERT_TRUE(extracted.has_value());
  EXPECT_EQ(extracted->kind(), proto::TASK_EXTRACT);
}

TEST_F(SchedulerTest, DependenciesGateTheMergeWhichGetsEveryPart) {
  std::string images = Images("alice", 5);
  std::string job_id = SubmitExtract("alice", images, 0, /*frames_per_task=*/2);
  std::string worker = Worker({proto::ROLE_EXTRACT});
  std::vector<proto::Task> parts;
  while (auto task = Lease(worker)) parts.push_back(*task);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].frame_begin(), 0);
  EXPECT_EQ(parts[0].frame_end(), 2);
  EXPECT_EQ(parts[2].frame_begin(), 4);
  EXPECT_EQ(parts[2].frame_end(), 5);
  EXPECT_EQ(parts[0].attempt(), 1);
  EXPECT_EQ(parts[0].worker_id(), worker);
  ASSERT_EQ(parts[0].inputs_size(), 5);
  EXPECT_EQ(parts[0].inputs(0).path(), "input/img_000.png");
  EXPECT_EQ(Job("alice", job_id).state(), proto::JOB_RUNNING);

  ASSERT_TRUE(Complete(worker, parts[0]).ok());
  ASSERT_TRUE(Complete(worker, parts[1]).ok());
  EXPECT_FALSE(Lease(worker).has_value()) << "the merge must wait for every part";
  ASSERT_TRUE(Complete(worker, parts[2]).ok());
  auto merge = Lease(worker);
  ASSERT_TRUE(merge.has_value());
  EXPECT_EQ(merge->kind(), proto::TASK_MERGE_ALIGNMENTS);
  ASSERT_EQ(merge->inputs_size(), 6);
  EXPECT_EQ(merge->inputs(0).path(), "parts/" + parts[0].id() + "/alignments.fsa");
  EXPECT_EQ(merge->inputs(1).path(), "parts/" + parts[0].id() + "/faces/" + parts[0].id() + ".png");

  // Outputs must have been uploaded and carry what the kind promises.
  proto::FileEntry missing;
  missing.set_path("alignments.fsa");
  missing.set_size(3);
  missing.set_sha256(util::Sha256Hex("not uploaded"));
  EXPECT_EQ(scheduler_->CompleteTask(worker, merge->id(), {missing}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(scheduler_->CompleteTask(worker, merge->id(), {Blob("faces/x.png", "x")}).code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(Complete(worker, *merge).ok());
  // A repeated CompleteTask (lost answer) is accepted.
  EXPECT_TRUE(Complete(worker, *merge).ok());

  proto::Job job = Job("alice", job_id);
  EXPECT_EQ(job.state(), proto::JOB_SUCCEEDED);
  EXPECT_DOUBLE_EQ(job.progress(), 1.0);
  ASSERT_EQ(job.artifacts_size(), 2);
  EXPECT_EQ(job.artifacts(0).path(), "alignments.fsa");
  EXPECT_GT(job.finished_unix_ms(), 0);
}

TEST_F(SchedulerTest, ExpiredLeaseGoesToAnotherWorkerWithTheNextAttempt) {
  std::string job_id = SubmitExtract("alice", Images("alice", 1), 0);
  std::string w1 = Worker({proto::ROLE_EXTRACT}, "one");
  std::string w2 = Worker({proto::ROLE_EXTRACT}, "two");
  auto first = Lease(w1);
  ASSERT_TRUE(first.has_value());
  EXPECT_FALSE(Lease(w2).has_value());
  // Heartbeats renew the lease; an expiry check before it ran out changes nothing.
  ASSERT_TRUE(scheduler_->Heartbeat(w1, {first->id()}).value().cancel_task_ids().empty());
  ASSERT_TRUE(scheduler_->ExpireLeases(first->lease_expires_unix_ms() - 1).ok());
  EXPECT_FALSE(Lease(w2).has_value());

  ASSERT_TRUE(scheduler_->ExpireLeases(Scheduler::NowMs() + options_.lease_ttl_ms + 1).ok());
  auto second = Lease(w2);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->id(), first->id());
  EXPECT_EQ(second->attempt(), 2);
  EXPECT_EQ(second->worker_id(), w2);
  // The first worker learns it lost the lease, and its late result is refused.
  auto beat = scheduler_->Heartbeat(w1, {first->id()}).value();
  ASSERT_EQ(beat.cancel_task_ids_size(), 1);
  EXPECT_EQ(beat.cancel_task_ids(0), first->id());
  proto::ReportProgressRequest progress;
  progress.set_worker_id(w1);
  progress.set_task_id(first->id());
  progress.set_progress(0.5);
  EXPECT_TRUE(scheduler_->ReportProgress(progress).value());
  EXPECT_EQ(Complete(w1, *first).code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(Complete(w2, *second).ok());
  proto::Job job = Job("alice", job_id);
  EXPECT_EQ(job.tasks(0).state(), proto::TASK_SUCCEEDED);
  EXPECT_EQ(job.tasks(0).attempt(), 2);
}

TEST_F(SchedulerTest, OutOfAttemptsFailsTheJobWithTheTaskError) {
  std::string job_id = SubmitExtract("alice", Images("alice", 3), 0, /*frames_per_task=*/1);
  std::string worker = Worker({proto::ROLE_EXTRACT});
  auto task = Lease(worker);
  ASSERT_TRUE(task.has_value());
  ASSERT_TRUE(scheduler_->FailTask(worker, task->id(), "decoder crashed", true).ok());
  // Retry goes to the back of nothing: same task, next attempt (it is first in FIFO order).
  auto again = Lease(worker);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->id(), task->id());
  EXPECT_EQ(again->attempt(), 2);
  auto other = Lease(worker);
  ASSERT_TRUE(other.has_value());
  ASSERT_TRUE(scheduler_->FailTask(worker, again->id(), "decoder crashed again", true).ok());

  proto::Job job = Job("alice", job_id);
  EXPECT_EQ(job.state(), proto::JOB_FAILED);
  EXPECT_NE(job.error().find("decoder crashed again"), std::string::npos) << job.error();
  EXPECT_NE(job.error().find(task->id()), std::string::npos) << job.error();
  for (const proto::Task& t : job.tasks()) {
    if (t.id() == task->id()) {
      EXPECT_EQ(t.state(), proto::TASK_FAILED);
    } else {
      EXPECT_EQ(t.state(), proto::TASK_CANCELLED) << t.id();
    }
  }
  // The other leased task is told to stop, and nothing more is handed out.
  EXPECT_EQ(scheduler_->Heartbeat(worker, {other->id()}).value().cancel_task_ids_size(), 1);
  EXPECT_FALSE(Lease(worker).has_value());
}

TEST_F(SchedulerTest, LeaseExpiryCountsAsAnAttempt) {
  std::string job_id = SubmitExtract("alice", Images("alice", 1), 0);
  std::string worker = Worker({proto::ROLE_EXTRACT});
  for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
    auto task = Lease(worker);
    ASSERT_TRUE(task.has_value());
    EXPECT_EQ(task->attempt(), attempt);
    ASSERT_TRUE(scheduler_->ExpireLeases(Scheduler::NowMs() + options_.lease_ttl_ms + 1).ok());
  }
  proto::Job job = Job("alice", job_id);
  EXPECT_EQ(job.state(), proto::JOB_FAILED);
  EXPECT_NE(job.error().find("lease expired"), std::string::npos) << job.error();
}

TEST_F(SchedulerTest, NonRetryableFailureFailsAtOnce) {
  std::string job_id = SubmitExtract("alice", Images("alice", 1), 0);
  std::string worker = Worker({proto::ROLE_EXTRACT});
  auto task = Lease(worker);
  ASSERT_TRUE(task.has_value());
  EXPECT_EQ(scheduler_->FailTask("someone-else", task->id(), "x", false).code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(scheduler_->FailTask(worker, task->id(), "not a video", false).ok());
  proto::Job job = Job("alice", job_id);
  EXPECT_EQ(job.state(), proto::JOB_FAILED);
  EXPECT_NE(job.error().find("not a video"), std::string::npos);
  EXPECT_EQ(job.tasks(0).attempt(), 1);
}

TEST_F(SchedulerTest, CancelStopsTheJobForItsOwnerOnly) {
  std::string job_id = SubmitExtract("alice", Images("alice", 4), 0, 1);
  std::string worker = Worker({proto::ROLE_EXTRACT});
  auto task = Lease(worker);
  ASSERT_TRUE(task.has_value());
  EXPECT_EQ(scheduler_->Cancel("bob", job_id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(scheduler_->GetJob("bob", job_id).status().code(), absl::StatusCode::kNotFound);
  auto cancelled = scheduler_->Cancel("alice", job_id);
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_EQ(cancelled->state(), proto::JOB_CANCELLED);
  for (const proto::Task& t : cancelled->tasks()) EXPECT_EQ(t.state(), proto::TASK_CANCELLED);
  EXPECT_EQ(scheduler_->Heartbeat(worker, {task->id()}).value().cancel_task_ids_size(), 1);
  EXPECT_FALSE(Lease(worker).has_value());
  EXPECT_EQ(Complete(worker, *task).code(), absl::StatusCode::kFailedPrecondition);
  // Cancelling a job that ended is refused (and changes nothing).
  absl::Status again = scheduler_->Cancel("alice", job_id).status();
  EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(again.message().find("already ended (cancelled)"), std::string::npos) << again;
  EXPECT_EQ(scheduler_->ListJobs("bob", proto::JOB_STATE_UNSPECIFIED, 0)->size(), 0u);
  EXPECT_EQ(scheduler_->ListJobs("alice", proto::JOB_CANCELLED, 0)->size(), 1u);
}

TEST_F(SchedulerTest, SubmitRefusesOtherUsersDatasetsAndBadSpecs) {
  std::string images = Images("alice", 2);
  proto::JobSpec spec;
  spec.set_kind(proto::JOB_EXTRACT);
  spec.set_input_dataset(images);
  EXPECT_EQ(scheduler_->Submit("bob", spec).status().code(), absl::StatusCode::kInvalidArgument);
  spec.set_priority(10);
  EXPECT_EQ(scheduler_->Submit("alice", spec).status().code(), absl::StatusCode::kInvalidArgument);
  spec.set_priority(0);
  // A kind is named as the CLI spells it (rpc/job_names.h), not by its proto value name.
  spec.set_kind(proto::JOB_SWAP);
  absl::Status no_b = scheduler_->Submit("alice", spec).status();
  EXPECT_EQ(no_b.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(no_b.message().find("a swap job needs this dataset id"), std::string::npos) << no_b;
  spec.set_kind(static_cast<proto::JobKind>(42));
  EXPECT_EQ(scheduler_->Submit("alice", spec).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(scheduler_->ListJobs("", proto::JOB_STATE_UNSPECIFIED, 0)->empty());
}

TEST_F(SchedulerTest, LongPollWakesWhenWorkArrives) {
  std::string worker = Worker({proto::ROLE_EXTRACT});
  std::string images = Images("alice", 1);
  auto waiting =
      std::async(std::launch::async, [&] { return scheduler_->LeaseTask(worker, 30000, nullptr); });
  // Submit while the lease call waits (or before it starts: either way it must get the task).
  std::string job_id = SubmitExtract("alice", images, 0);
  auto task = waiting.get();
  ASSERT_TRUE(task.ok()) << task.status();
  ASSERT_TRUE(task->has_value());
  EXPECT_EQ((*task)->job_id(), job_id);
}

TEST_F(SchedulerTest, EventsRecordTheJobsHistory) {
  std::string job_id = SubmitExtract("alice", Images("alice", 1), 0);
  std::string worker = Worker({proto::ROLE_EXTRACT});
  auto task = Lease(worker);
  proto::ReportProgressRequest progress;
  progress.set_worker_id(worker);
  progress.set_task_id(task->id());
  progress.set_progress(0.5);
  progress.set_rate(12.5);
  progress.set_unit("frames/s");
  progress.set_message("halfway");
  EXPECT_FALSE(scheduler_->ReportProgress(progress).value());
  bool done = false;
  auto events = scheduler_->Events(job_id, 0, 100, 0, &done).value();
  EXPECT_FALSE(done);
  ASSERT_GE(events.size(), 4u);
  EXPECT_EQ(events[0].kind(), proto::JobEvent::LOG);
  EXPECT_NE(events[0].message().find("submitted by alice: extract, "), std::string::npos)
      << events[0].message();
  bool saw_running = false, saw_progress = false;
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].sequence(), static_cast<int64_t>(i + 1));
    if (events[i].kind() == proto::JobEvent::STATE && events[i].state() == proto::JOB_RUNNING) {
      saw_running = true;
    }
    if (events[i].kind() == proto::JobEvent::PROGRESS) {
      saw_progress = true;
      EXPECT_DOUBLE_EQ(events[i].rate(), 12.5);
      EXPECT_EQ(events[i].unit(), "frames/s");
      EXPECT_DOUBLE_EQ(events[i].progress(), 0.25);  // half of one of two tasks
    }
  }
  EXPECT_TRUE(saw_running);
  EXPECT_TRUE(saw_progress);
  auto later = scheduler_->Events(job_id, events.back().sequence(), 100, 0, &done).value();
  EXPECT_TRUE(later.empty());
}

TEST_F(SchedulerTest, RestartKeepsJobsLeasesAndResults) {
  std::string job_id = SubmitExtract("alice", Images("alice", 4), 0, 2);
  std::string worker = Worker({proto::ROLE_EXTRACT});
  auto done_task = Lease(worker);
  auto held_task = Lease(worker);
  ASSERT_TRUE(done_task && held_task);
  ASSERT_TRUE(Complete(worker, *done_task).ok());

  Reopen();  // a new process on the same files

  proto::Job job = Job("alice", job_id);
  ASSERT_EQ(job.tasks_size(), 3);
  EXPECT_EQ(job.tasks(0).state(), proto::TASK_SUCCEEDED);
  EXPECT_EQ(job.tasks(1).state(), proto::TASK_LEASED);
  EXPECT_EQ(job.tasks(1).lease_expires_unix_ms(), held_task->lease_expires_unix_ms());
  // Nothing that succeeded is leased again; the held task completes under its old lease.
  EXPECT_FALSE(Lease(worker).has_value());
  ASSERT_TRUE(Complete(worker, *held_task).ok());
  auto merge = Lease(worker);
  ASSERT_TRUE(merge.has_value());
  EXPECT_EQ(merge->kind(), proto::TASK_MERGE_ALIGNMENTS);
}

TEST_F(SchedulerTest, JobsInFlightPerUserAreCapped) {
  options_.max_jobs_per_user = 2;
  Reopen();
  std::string images = Images("alice", 1);
  std::string first = SubmitExtract("alice", images, 0);
  SubmitExtract("alice", images, 0);
  proto::JobSpec spec;
  spec.set_kind(proto::JOB_EXTRACT);
  spec.set_input_dataset(images);
  absl::Status third = scheduler_->Submit("alice", spec).status();
  EXPECT_EQ(third.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(third.message().find("allows 2 per user"), std::string::npos) << third;
  // Another user is not held back; an ended job frees a place.
  SubmitExtract("bob", Images("bob", 1), 0);
  ASSERT_TRUE(scheduler_->Cancel("alice", first).ok());
  EXPECT_TRUE(scheduler_->Submit("alice", spec).ok());
}

TEST_F(SchedulerTest, StoredAndUploadingBytesPerUserAreCapped) {
  options_.max_bytes_per_user = 100;
  Reopen();
  auto header = [](const std::string& name, int64_t size) {
    proto::DatasetHeader header;
    proto::FileEntry* file = header.add_files();
    file->set_path(name);
    file->set_size(size);
    file->set_sha256(util::Sha256Hex(name));
    return header;
  };
  auto first = scheduler_->ReserveUpload("alice", header("a.png", 60));
  ASSERT_TRUE(first.ok()) << first.status();
  // 60 being uploaded + 50 > 100.
  absl::Status second = scheduler_->ReserveUpload("alice", header("b.png", 50)).status();
  EXPECT_EQ(second.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(second.message().find("60 being uploaded"), std::string::npos) << second;
  EXPECT_TRUE(scheduler_->ReserveUpload("bob", header("b.png", 50)).ok());
  first->reset();  // the upload ended
  EXPECT_TRUE(scheduler_->ReserveUpload("alice", header("b.png", 50)).ok());
  // Stored datasets count too; the same content again costs nothing.
  proto::DatasetHeader stored = header("s.png", 30);
  proto::Dataset dataset;
  dataset.set_owner("alice");
  *dataset.mutable_files() = stored.files();
  dataset.set_id(DatasetId({stored.files(0)}));
  dataset.set_total_bytes(30);
  ASSERT_TRUE(store_->PutDataset(dataset).ok());
  EXPECT_TRUE(scheduler_->ReserveUpload("alice", stored).ok());
  EXPECT_EQ(scheduler_->ReserveUpload("alice", header("c.png", 71)).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(scheduler_->ReserveUpload("alice", header("c.png", 70)).ok());
}

TEST_F(SchedulerTest, ClusterStatusShowsAUserOnlyTheirJobs) {
  std::string alices = SubmitExtract("alice", Images("alice", 1), 0);
  SubmitExtract("bob", Images("bob", 1), 0);
  SubmitExtract("bob", Images("bob", 1, "2"), 0);
  std::string worker = Worker({proto::ROLE_EXTRACT});
  std::optional<proto::Task> leased = Lease(worker);  // alice's: submitted first
  ASSERT_TRUE(leased.has_value());
  ASSERT_EQ(leased->job_id(), alices);
  std::optional<proto::Task> bobs = Lease(worker);
  ASSERT_TRUE(bobs.has_value());

  proto::ClusterStatusResponse alice = scheduler_->ClusterStatus("alice").value();
  int64_t jobs = 0;
  for (const auto& [state, count] : alice.jobs_by_state()) jobs += count;
  EXPECT_EQ(jobs, 1);
  ASSERT_EQ(alice.workers_size(), 1);
  EXPECT_EQ(alice.workers(0).leased_tasks(), 2);
  ASSERT_EQ(alice.workers(0).task_ids_size(), 1);
  EXPECT_EQ(alice.workers(0).task_ids(0), leased->id());
  proto::ClusterStatusResponse carol = scheduler_->ClusterStatus("carol").value();
  EXPECT_TRUE(carol.jobs_by_state().empty());
  EXPECT_EQ(carol.workers(0).task_ids_size(), 0);
  // The queue depth is the cluster's (it names nobody); the metrics see every job.
  EXPECT_EQ(carol.queued_tasks(), alice.queued_tasks());
  proto::ClusterStatusResponse everyone = scheduler_->ClusterStatus("").value();
  jobs = 0;
  for (const auto& [state, count] : everyone.jobs_by_state()) jobs += count;
  EXPECT_EQ(jobs, 3);
}

TEST_F(SchedulerTest, RemovingADatasetCollectsWhatNothingReferences) {
  // The default grace (an hour) applies to other blobs; a removed dataset's own files go at once.
  ASSERT_GE(options_.blob_grace_ms, 3600 * 1000);
  std::string used = Images("alice", 2, "used");
  std::string spare = Images("alice", 1, "spare");
  std::string job_id = SubmitExtract("alice", used, 0);
  // An input of a queued job stays.
  absl::Status busy = scheduler_->DeleteDataset("alice", used).status();
  EXPECT_EQ(busy.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(busy.message().find(job_id), std::string::npos) << busy;
  EXPECT_EQ(scheduler_->DeleteDataset("bob", spare).status().code(), absl::StatusCode::kNotFound);

  std::vector<proto::FileEntry> spare_files = store_->DatasetFiles(spare).value();
  absl::StatusOr<proto::DeleteDatasetResponse> removed = scheduler_->DeleteDataset("alice", spare);
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(removed->dataset().id(), spare);
  EXPECT_EQ(removed->dataset().files_size(), 0);  // what was removed, without its file list
  EXPECT_EQ(removed->blobs_removed(), 1);
  EXPECT_FALSE(blobs_->Has(spare_files[0].sha256()));
  EXPECT_FALSE(store_->GetDataset("alice", spare).value().has_value());

  // Once the job ended its input can go; its results stay.
  std::string worker = Worker({proto::ROLE_EXTRACT});
  std::optional<proto::Task> task = Lease(worker);
  ASSERT_TRUE(task.has_value());
  ASSERT_TRUE(Complete(worker, *task).ok());
  task = Lease(worker);  // the merge
  ASSERT_TRUE(task.has_value());
  ASSERT_TRUE(Complete(worker, *task).ok());
  ASSERT_EQ(Job("alice", job_id).state(), proto::JOB_SUCCEEDED);
  std::vector<proto::FileEntry> used_files = store_->DatasetFiles(used).value();
  removed = scheduler_->DeleteDataset("alice", used);
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(removed->blobs_removed(), 2);
  for (const proto::FileEntry& file : used_files) EXPECT_FALSE(blobs_->Has(file.sha256()));
  const proto::Job ended = Job("alice", job_id);
  for (const proto::FileEntry& artifact : ended.artifacts()) {
    EXPECT_TRUE(blobs_->Has(artifact.sha256())) << artifact.path();
  }
}

TEST_F(SchedulerTest, ARemovedDatasetsFileWrittenAgainSinceWaitsForTheGrace) {
  std::string kept = Images("alice", 1, "kept");
  std::string gone = Images("alice", 1, "gone");
  std::vector<proto::FileEntry> kept_files = store_->DatasetFiles(kept).value();
  std::vector<proto::FileEntry> gone_files = store_->DatasetFiles(gone).value();
  ASSERT_EQ(kept_files.size(), 1u);
  ASSERT_EQ(gone_files.size(), 1u);
  ASSERT_NE(kept_files[0].sha256(), gone_files[0].sha256());
  // Someone stores the same bytes as the kept dataset's file after it was recorded (a task output
  // whose CompleteTask has not come yet): the blob's write time is later than the record.
  const auto later = std::filesystem::last_write_time(blobs_->PathFor(kept_files[0].sha256())) +
                     std::chrono::seconds(5);
  std::filesystem::last_write_time(blobs_->PathFor(kept_files[0].sha256()), later);

  absl::StatusOr<proto::DeleteDatasetResponse> removed = scheduler_->DeleteDataset("alice", kept);
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(removed->blobs_removed(), 0);
  EXPECT_TRUE(blobs_->Has(kept_files[0].sha256()));
  // The other dataset is untouched by that removal, and goes at once when removed itself.
  EXPECT_TRUE(blobs_->Has(gone_files[0].sha256()));
  removed = scheduler_->DeleteDataset("alice", gone);
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(removed->blobs_removed(), 1);
  EXPECT_EQ(removed->bytes_freed(), gone_files[0].size());
  EXPECT_FALSE(blobs_->Has(gone_files[0].sha256()));
}

}  // namespace
}  // namespace fsc::coordinator
