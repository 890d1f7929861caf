// Multi-rank train stages in the coordinator, over a real SQLite store and blob store: the
// planner's rank slots, generations (formed once `ranks` slots are leased, bumped when a member
// is lost or a joiner arrives, ranked by slot order, persisted across a restart), the stage
// ending when one slot delivers the model (the others retired and acknowledged), slots out of
// attempts retired instead of failing the job, and downstream convert tasks taking the model
// from whichever slot delivered it.
#include <gtest/gtest.h>

#include "absl/strings/str_format.h"
#include "coordinator/datasets.h"
#include "coordinator/planner.h"
#include "coordinator/scheduler.h"
#include "coordinator/tokens.h"
#include "coordinator/validation.h"
#include "tests/test_paths.h"
#include "tests/unit/scheduler_fixture.h"

namespace fsc::coordinator {
namespace {

class TrainGroupsTest : public SchedulerFixture {
 protected:
  void SetUp() override { OpenWithShortLeases("coordinator_train_groups"); }

  std::string Images(int n, const std::string& tag) {
    return SchedulerFixture::Images("alice", n, tag);
  }
  std::string Trainer(const std::string& name) { return Worker({proto::ROLE_TRAIN}, name); }

  proto::JobSpec TrainSpec(int ranks, int max_ranks) {
    proto::JobSpec spec;
    spec.set_kind(proto::JOB_TRAIN);
    spec.set_faces_a_dataset(Images(2, "a"));
    spec.set_faces_b_dataset(Images(2, "b"));
    spec.mutable_train()->set_ranks(ranks);
    spec.mutable_train()->set_max_ranks(max_ranks);
    return spec;
  }

  std::string Submit(const proto::JobSpec& spec) {
    auto job = scheduler_->Submit("alice", spec);
    EXPECT_TRUE(job.ok()) << job.status();
    return job.ok() ? job->id() : "";
  }

  std::optional<proto::Task> Lease(const std::string& worker) {
    auto task = scheduler_->LeaseTask(worker, 0, nullptr);
    EXPECT_TRUE(task.ok()) << task.status();
    return task.ok() ? *task : std::nullopt;
  }

  TrainGroup Group(const std::string& job_id) {
    auto group = scheduler_->TrainGroupOf(job_id);
    EXPECT_TRUE(group.ok()) << group.status();
    return group.ok() ? *group : TrainGroup();
  }

  std::vector<std::string> Workers(const TrainGroup& group) {
    std::vector<std::string> ids;
    for (const SlotLease& member : group.members) ids.push_back(member.worker_id);
    return ids;
  }

  std::vector<proto::FileEntry> Model(const std::string& tag) {
    return {Blob("model/fsc_model.json", "manifest " + tag), Blob("model/weights.pt", "w " + tag)};
  }

  proto::Job Job(const std::string& id) { return scheduler_->GetJob("alice", id).value(); }
};

TEST_F(TrainGroupsTest, PlannerMakesOneFinalTaskPerRankSlot) {
  proto::JobSpec spec = TrainSpec(2, 3);
  EXPECT_EQ(TrainSlots(spec.train()), 3);
  proto::Job job = Job(Submit(spec));
  ASSERT_EQ(job.tasks_size(), 3);
  for (const proto::Task& task : job.tasks()) EXPECT_EQ(task.kind(), proto::TASK_TRAIN);
  auto tasks = store_->TasksOfJob(job.id()).value();
  for (const TaskRecord& task : tasks) EXPECT_TRUE(task.final);

  EXPECT_EQ(TrainSlots(TrainSpec(0, 0).train()), 1);
  EXPECT_EQ(TrainSlots(TrainSpec(4, 0).train()), 4);
  EXPECT_EQ(Job(Submit(TrainSpec(1, 0))).tasks_size(), 1);
}

TEST_F(TrainGroupsTest, SpecValidationNamesTheField) {
  proto::JobSpec spec = TrainSpec(3, 2);
  absl::Status status = ValidateJobSpec(spec);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("spec.train.max_ranks"), std::string::npos) << status;
  spec = TrainSpec(2, 0);
  spec.mutable_train()->set_backend("mpi");
  status = ValidateJobSpec(spec);
  EXPECT_NE(status.message().find("spec.train.backend"), std::string::npos) << status;
  spec.mutable_train()->set_backend("gloo");
  spec.mutable_train()->set_bucket_mb(-1);
  EXPECT_NE(ValidateJobSpec(spec).message().find("spec.train.bucket_mb"), std::string::npos);
  spec.mutable_train()->set_bucket_mb(4);
  EXPECT_TRUE(ValidateJobSpec(spec).ok());
}

TEST_F(TrainGroupsTest, GenerationsFormGrowAndShrinkWithTheLeases) {
  std::string job_id = Submit(TrainSpec(2, 3));
  std::string w1 = Trainer("one"), w2 = Trainer("two"), w3 = Trainer("three");

  auto t1 = Lease(w1);
  ASSERT_TRUE(t1.has_value());
  EXPECT_EQ(Group(job_id).generation, 0) << "one of two ranks: not formed";
  EXPECT_TRUE(Group(job_id).members.empty());

  auto t2 = Lease(w2);
  ASSERT_TRUE(t2.has_value());
  TrainGroup first = Group(job_id);
  EXPECT_EQ(first.generation, 1);
  EXPECT_EQ(Workers(first), (std::vector<std::string>{w1, w2}));
  EXPECT_EQ(first.members[0].task_id, t1->id());
  // Looking again changes nothing.
  EXPECT_EQ(Group(job_id).generation, 1);
  EXPECT_FALSE(Group(job_id).is_new);

  // A joiner takes the third slot: a new generation with it as rank 2.
  auto t3 = Lease(w3);
  ASSERT_TRUE(t3.has_value());
  TrainGroup second = Group(job_id);
  EXPECT_EQ(second.generation, 2);
  EXPECT_EQ(Workers(second), (std::vector<std::string>{w1, w2, w3}));

  // w1 dies (stops heartbeating): its lease expires, the survivors form generation 3 with w2 as
  // rank 0, and the slot waits for a new trainer.
  const int64_t later = Scheduler::NowMs() + options_.lease_ttl_ms + 1000;
  ASSERT_TRUE(scheduler_->Heartbeat(w2, {t2->id()}).ok());
  ASSERT_TRUE(scheduler_->Heartbeat(w3, {t3->id()}).ok());
  ASSERT_TRUE(store_->SetLeaseExpiry(t2->id(), later + 10000).ok());
  ASSERT_TRUE(store_->SetLeaseExpiry(t3->id(), later + 10000).ok());
  ASSERT_TRUE(scheduler_->ExpireLeases(later).ok());
  TrainGroup third = Group(job_id);
  EXPECT_EQ(third.generation, 3);
  EXPECT_EQ(Workers(third), (std::vector<std::string>{w2, w3}));
  EXPECT_EQ(Job(job_id).tasks(0).state(), proto::TASK_PENDING);
  EXPECT_EQ(Job(job_id).state(), proto::JOB_RUNNING);

  // A failing member (retryable) is a lost member too; the same worker coming back in the same
  // slot is a new member (a new attempt), so a new generation.
  ASSERT_TRUE(scheduler_->FailTask(w3, t3->id(), "gloo: connection reset", true).ok());
  EXPECT_EQ(Workers(Group(job_id)), (std::vector<std::string>{w2}));
  EXPECT_EQ(Group(job_id).generation, 4);
  auto again = Lease(w3);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->id(), t1->id()) << "the first pending slot in order";
  TrainGroup fifth = Group(job_id);
  EXPECT_EQ(fifth.generation, 5);
  EXPECT_EQ(Workers(fifth), (std::vector<std::string>{w3, w2})) << "ranked by slot order";
}

TEST_F(TrainGroupsTest, ABrokenGenerationWithNobodyGoneIsReformedAfterALeaseTtl) {
  TrainGroups groups(store_.get());
  const std::vector<SlotLease> two = {{"j-t0000", "w1", 1}, {"j-t0001", "w2", 1}};
  ASSERT_EQ(groups.Observe("j", 2, two).value().generation, 1);
  // A member's collective timed out (a slow or unreachable peer); nobody's lease ended. The
  // report of an older generation, or of none, changes nothing.
  EXPECT_EQ(groups.Observe("j", 2, two, /*broken=*/0, 1000, 3000).value().generation, 1);
  EXPECT_EQ(groups.Observe("j", 2, two, /*broken=*/1, 1000, 3000).value().generation, 1);
  EXPECT_EQ(groups.Observe("j", 2, two, /*broken=*/1, 3999, 3000).value().generation, 1)
      << "a lease TTL for a lost member's lease to end first";
  TrainGroup again = groups.Observe("j", 2, two, /*broken=*/1, 4000, 3000).value();
  EXPECT_EQ(again.generation, 2);
  EXPECT_TRUE(again.is_new);
  EXPECT_EQ(again.members.size(), 2u);
  // The other member's report of generation 1 comes late: nothing more happens.
  EXPECT_EQ(groups.Observe("j", 2, two, /*broken=*/1, 9000, 3000).value().generation, 2);
  EXPECT_EQ(groups.Observe("j", 2, two, /*broken=*/0, 9000, 3000).value().generation, 2);
  // A member lost meanwhile: the change makes the generation at once, and clears the report.
  EXPECT_EQ(groups.Observe("j", 2, two, /*broken=*/2, 10000, 3000).value().generation, 2);
  EXPECT_EQ(groups.Observe("j", 2, {two[0]}, /*broken=*/2, 10001, 3000).value().generation, 3);
  EXPECT_EQ(groups.Observe("j", 2, {two[0]}, /*broken=*/0, 20000, 3000).value().generation, 3);
  // The counter is persisted.
  EXPECT_EQ(store_->GetMeta(TrainGroups::MetaKey("j")).value().value_or(""), "3");
}

TEST_F(TrainGroupsTest, TheModelSlotEndsTheStageAndTheOthersAreRetired) {
  std::string job_id = Submit(TrainSpec(2, 3));
  std::string w1 = Trainer("one"), w2 = Trainer("two");
  auto t1 = Lease(w1);
  auto t2 = Lease(w2);
  ASSERT_TRUE(t1 && t2);
  ASSERT_EQ(Group(job_id).generation, 1);

  // A single-rank job still needs the model; a slot may end without outputs.
  std::string single = Submit(TrainSpec(1, 0));
  std::string w3 = Trainer("three");
  auto solo = Lease(w3);
  ASSERT_TRUE(solo.has_value());
  EXPECT_EQ(solo->job_id(), job_id) << "the older job's third slot comes first";
  auto solo2 = Lease(w3);
  ASSERT_TRUE(solo2.has_value());
  EXPECT_EQ(solo2->job_id(), single);
  EXPECT_EQ(scheduler_->CompleteTask(w3, solo2->id(), {}).code(),
            absl::StatusCode::kInvalidArgument);

  // Rank 1 (w2) finishes first without outputs, then rank 0 (w1) with the model.
  ASSERT_TRUE(scheduler_->CompleteTask(w2, t2->id(), {}).ok());
  EXPECT_EQ(Job(job_id).state(), proto::JOB_RUNNING);
  std::vector<proto::FileEntry> model = Model("final");
  ASSERT_TRUE(scheduler_->CompleteTask(w1, t1->id(), model).ok());
  proto::Job job = Job(job_id);
  EXPECT_EQ(job.state(), proto::JOB_SUCCEEDED) << job.error();
  for (const proto::Task& task : job.tasks()) EXPECT_EQ(task.state(), proto::TASK_SUCCEEDED);
  EXPECT_NE(job.tasks(2).error().find("retired"), std::string::npos);
  ASSERT_EQ(job.artifacts_size(), 2);
  EXPECT_EQ(job.artifacts(0).path(), "model/fsc_model.json");
  EXPECT_EQ(job.artifacts(0).sha256(), model[0].sha256());
  // The retired member that was still running is acknowledged when it completes.
  EXPECT_TRUE(scheduler_->CompleteTask(w3, solo->id(), {}).ok());
  // Its heartbeat tells it to stop.
  EXPECT_EQ(scheduler_->Heartbeat(w3, {solo->id()}).value().cancel_task_ids_size(), 1);
}

TEST_F(TrainGroupsTest, NobodyJoinsOnceAMemberFinished) {
  std::string job_id = Submit(TrainSpec(2, 3));
  std::string w1 = Trainer("one"), w2 = Trainer("two"), w3 = Trainer("three");
  auto t1 = Lease(w1);
  auto t2 = Lease(w2);
  ASSERT_TRUE(t1 && t2);
  // Rank 1 is done (rank 0 is still uploading the model): the free third slot is retired, so an
  // idle trainer does not start a generation nobody else will join.
  ASSERT_TRUE(scheduler_->CompleteTask(w2, t2->id(), {}).ok());
  proto::Job job = Job(job_id);
  EXPECT_EQ(job.tasks(2).state(), proto::TASK_SUCCEEDED);
  EXPECT_NE(job.tasks(2).error().find("finished training"), std::string::npos);
  EXPECT_EQ(job.tasks(0).state(), proto::TASK_LEASED);
  EXPECT_FALSE(Lease(w3).has_value());
  ASSERT_TRUE(scheduler_->CompleteTask(w1, t1->id(), Model("end")).ok());
  EXPECT_EQ(Job(job_id).state(), proto::JOB_SUCCEEDED);
}

TEST_F(TrainGroupsTest, ASlotOutOfAttemptsIsRetiredWhileOthersGoOn) {
  std::string job_id = Submit(TrainSpec(2, 0));
  std::string w1 = Trainer("one"), w2 = Trainer("two");
  auto t1 = Lease(w1);
  auto t2 = Lease(w2);
  ASSERT_TRUE(t1 && t2);
  // max_attempts is 2: the second slot fails twice (two trainers in turn).
  ASSERT_TRUE(scheduler_->FailTask(w2, t2->id(), "lost", true).ok());
  auto retry = Lease(w2);
  ASSERT_TRUE(retry.has_value());
  ASSERT_EQ(retry->attempt(), 2);
  ASSERT_TRUE(scheduler_->FailTask(w2, retry->id(), "lost again", true).ok());
  proto::Job job = Job(job_id);
  EXPECT_EQ(job.state(), proto::JOB_RUNNING) << job.error();
  EXPECT_EQ(job.tasks(1).state(), proto::TASK_SUCCEEDED);
  EXPECT_NE(job.tasks(1).error().find("retired after 2 attempts"), std::string::npos);
  // The group had not formed yet; with one slot left it forms with that one, and finishes.
  EXPECT_EQ(Workers(Group(job_id)), (std::vector<std::string>{w1}));
  ASSERT_TRUE(scheduler_->CompleteTask(w1, t1->id(), Model("one rank")).ok());
  EXPECT_EQ(Job(job_id).state(), proto::JOB_SUCCEEDED);

  // A bad-input failure still fails the job at once.
  std::string bad = Submit(TrainSpec(2, 0));
  auto b1 = Lease(w1);
  ASSERT_TRUE(b1.has_value());
  ASSERT_TRUE(scheduler_->FailTask(w1, b1->id(), "no faces", false).ok());
  EXPECT_EQ(Job(bad).state(), proto::JOB_FAILED);
}

TEST_F(TrainGroupsTest, ARestartContinuesAboveThePersistedGeneration) {
  std::string job_id = Submit(TrainSpec(2, 0));
  std::string w1 = Trainer("one"), w2 = Trainer("two");
  auto t1 = Lease(w1);
  auto t2 = Lease(w2);
  ASSERT_TRUE(t1 && t2);
  ASSERT_EQ(Group(job_id).generation, 1);

  Reopen();  // a new coordinator process on the same files; the leases are kept

  TrainGroup after = Group(job_id);
  EXPECT_EQ(after.generation, 2) << "the rendezvous store is gone: a new generation";
  EXPECT_EQ(Workers(after), (std::vector<std::string>{w1, w2}));
  EXPECT_EQ(Group(job_id).generation, 2);
}

TEST_F(TrainGroupsTest, ConvertTakesTheModelFromTheSlotThatDeliveredIt) {
  proto::JobSpec spec;
  spec.set_kind(proto::JOB_SWAP);
  spec.set_input_dataset(Images(2, "video a "));
  spec.set_input_b_dataset(Images(2, "video b "));
  spec.mutable_train()->set_ranks(2);
  std::string job_id = Submit(spec);
  proto::RegisterRequest request;
  request.set_name("all");
  request.add_roles(proto::ROLE_EXTRACT);
  request.add_roles(proto::ROLE_CONVERT);
  std::string worker = scheduler_->Register(request, NewToken("fscw_")).value().worker_id();
  // Extract and merge both sources.
  for (int i = 0; i < 4; ++i) {
    auto task = Lease(worker);
    ASSERT_TRUE(task.has_value()) << i;
    std::vector<proto::FileEntry> outputs = {Blob("alignments.fsa", "al " + task->id()),
                                             Blob("faces/f.png", "face " + task->id())};
    ASSERT_TRUE(scheduler_->CompleteTask(worker, task->id(), outputs).ok());
  }
  std::string w1 = Trainer("one"), w2 = Trainer("two");
  auto t1 = Lease(w1);
  auto t2 = Lease(w2);
  ASSERT_TRUE(t1 && t2);
  EXPECT_EQ(t1->inputs(0).path(), "faces_a/f.png");
  EXPECT_FALSE(Lease(worker).has_value()) << "convert waits for the train stage";
  // The second slot is rank 0 of the final generation here (the first one was lost and came
  // back): it delivers the model.
  std::vector<proto::FileEntry> model = Model("swap");
  ASSERT_TRUE(scheduler_->CompleteTask(w2, t2->id(), model).ok());
  auto convert = Lease(worker);
  ASSERT_TRUE(convert.has_value());
  ASSERT_EQ(convert->kind(), proto::TASK_CONVERT);
  bool has_model = false;
  for (const proto::FileEntry& input : convert->inputs()) {
    if (input.path() == "model/weights.pt") {
      has_model = true;
      EXPECT_EQ(input.sha256(), model[1].sha256());
    }
  }
  EXPECT_TRUE(has_model);
}

}  // namespace
}  // namespace fsc::coordinator
