// Elastic training across real processes on 127.0.0.1: a coordinator and three fsc-worker
// trainers run a 3-rank `lightweight` job on real faces; one trainer is killed with SIGKILL in
// the middle of the run. The survivors' all-reduce fails at once (the dead peer's sockets are
// reset), the coordinator makes a new generation when the dead worker's lease runs out, and the
// two survivors finish from the last checkpoint. The job succeeds with the model of the final
// generation's rank 0, whose checkpoint loads and has the requested iteration count. And the
// other way: a 2-rank job with room for 3 grows when a third trainer arrives mid-run.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "core/train/checkpoint.h"
#include "tests/integration/cluster_train_harness.h"

namespace fsc {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::CommandResult;

constexpr int kIterations = 9;

TEST(ClusterTrainFaultTest, ThreeRanksLoseOneBySigkillAndFinishOnTwo) {
  const std::string faces = testing::FaceSets();
  ASSERT_FALSE(faces.empty());
  testing::TrainCluster::Options options;
  options.lease_ttl_ms = 3000;
  options.heartbeat_ms = 300;
  testing::TrainCluster cluster(options);
  ASSERT_TRUE(cluster.ok()) << cluster.error();
  for (const char* name : {"trainer-1", "trainer-2", "trainer-3"}) {
    cluster.StartTrainer(name, {"--collective-timeout", "10", "--rendezvous-poll-ms", "100"});
  }

  // A global batch of 3 (one face per side per rank), a checkpoint every 3 iterations: the
  // lightweight model is 51 M parameters, so each rank writes 600 MB per checkpoint.
  const std::string id = testing::SubmitLightweightTrain(
      cluster, faces, kIterations, "--seed 7 --ranks 3 --backend gloo --name elastic-fault");
  ASSERT_FALSE(id.empty());
  json job = cluster.Job(id);
  ASSERT_EQ(job.value("tasks", json::array()).size(), 3u) << job.dump(1);

  // Wait until the three ranks trained past a checkpoint, then kill the worker holding the
  // first slot: rank 0, so the model must come from another slot.
  std::string victim_task, victim_worker;
  cluster.WaitForJob(
      id,
      [&](const json& j) {
        if (testing::TrainingTasks(j, 0.3) < 3) return false;
        victim_task = j["tasks"][0]["id"];
        victim_worker = j["tasks"][0].value("worker_id", "");
        return true;
      },
      240);
  ASSERT_FALSE(victim_worker.empty());
  ASSERT_EQ(testing::CountLogLines(cluster, id, "training generation 1: 3 ranks"), 1);
  std::string victim;
  for (const char* name : {"trainer-1", "trainer-2", "trainer-3"}) {
    if (testing::LogHas(cluster, name, victim_worker)) victim = name;
  }
  ASSERT_FALSE(victim.empty()) << "which trainer is " << victim_worker;
  cluster.Kill9(victim);

  job = cluster.WaitForJob(id, testing::JobOver, 300);
  ASSERT_EQ(job.value("state", ""), "JOB_SUCCEEDED") << job.dump(1);

  // The coordinator made a generation of the two survivors after the loss.
  EXPECT_GE(testing::CountLogLines(cluster, id, "training generation"), 2);
  EXPECT_EQ(testing::CountLogLines(cluster, id, "training generation 1: 3 ranks"), 1);
  EXPECT_GE(testing::CountLogLines(cluster, id, ": 2 ranks ("), 1);
  // The victim's slot was requeued, never re-leased (no idle trainer), and retired at the end;
  // the model came from a survivor's slot.
  std::string delivered;
  for (const json& task : job["tasks"]) {
    EXPECT_EQ(task.value("state", ""), "TASK_SUCCEEDED") << task.dump();
    if (!task.value("outputs", json::array()).empty()) {
      EXPECT_TRUE(delivered.empty()) << "two slots delivered a model";
      delivered = task["id"];
    }
  }
  EXPECT_FALSE(delivered.empty());
  EXPECT_NE(delivered, victim_task);
  EXPECT_NE(job["tasks"][0].value("error", "").find("retired"), std::string::npos)
      << job["tasks"][0].dump();

  // The final rank 0 trained to the end in a 2-rank group (the other survivor's own report may
  // arrive after its slot was retired, when the coordinator no longer records it).
  EXPECT_EQ(testing::CountLogLines(cluster, id,
                                   "trained to iteration " + std::to_string(kIterations) + " "),
            testing::CountLogLines(cluster, id, "of 2 ranks at the end"));
  EXPECT_EQ(testing::CountLogLines(cluster, id, "rank 0 of 2 ranks at the end"), 1);

  // The artifacts are one model whose checkpoint verifies and holds the full iteration count.
  std::string out = testing::MakeTempDir("fsc-train-fault-fetch");
  CommandResult fetched = cluster.Fsc("fetch " + id + " -o " + out);
  ASSERT_EQ(fetched.exit_code, 0) << fetched.output;
  auto checkpoint = train::ReadCheckpoint(out + "/model");
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  EXPECT_EQ(checkpoint->manifest.iteration, kIterations);
  EXPECT_EQ(checkpoint->manifest.model, "lightweight");
  fs::remove_all(out);
}

TEST(ClusterTrainFaultTest, AJoinerGrowsTheGroupUpToMaxRanks) {
  const std::string faces = testing::FaceSets();
  ASSERT_FALSE(faces.empty());
  testing::TrainCluster::Options options;
  testing::TrainCluster cluster(options);
  ASSERT_TRUE(cluster.ok()) << cluster.error();
  const std::vector<std::string> flags = {"--collective-timeout", "10", "--rendezvous-poll-ms",
                                          "100"};
  cluster.StartTrainer("trainer-1", flags);
  cluster.StartTrainer("trainer-2", flags);

  const std::string id = testing::SubmitLightweightTrain(
      cluster, faces, kIterations, "--seed 5 --ranks 2 --max-ranks 3 --name elastic-join");
  ASSERT_FALSE(id.empty());
  // Two trainers form the group (the third slot waits); once they are training, a third joins.
  cluster.WaitForJob(
      id, [&](const json& j) { return testing::TrainingTasks(j, 0) == 2 || testing::JobOver(j); },
      240);
  ASSERT_EQ(testing::CountLogLines(cluster, id, "training generation 1: 2 ranks"), 1);
  cluster.StartTrainer("trainer-3", flags);

  json job = cluster.WaitForJob(id, testing::JobOver, 300);
  ASSERT_EQ(job.value("state", ""), "JOB_SUCCEEDED") << job.dump(1);
  EXPECT_EQ(testing::CountLogLines(cluster, id, "training generation 2: 3 ranks"), 1);
  EXPECT_EQ(testing::CountLogLines(cluster, id, "rank 0 of 3 ranks at the end"), 1);
}

}  // namespace
}  // namespace fsc
