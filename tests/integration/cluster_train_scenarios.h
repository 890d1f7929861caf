// The two elastic-training scenarios the cluster tests run with both cores saturated
// (cluster_train_load_test.cc; a quiet-machine twin of each proved nothing the loaded run does not,
// at ten minutes of CI a test):
//  - three trainers run a 3-rank `lightweight` job and the one holding rank 0 is SIGKILLed once
//    every rank has passed a restore point: the survivors roll back in memory, move no state at
//    all (they hold the same restore point: the digests match), form a 2-rank generation when
//    the dead worker's lease runs out and finish; the job's model comes from a survivor, a plain
//    fetch gets its weights alone and --with-state the training state too;
//  - a 2-rank job with room for 3 grows when a third trainer arrives mid-run; only the joiner
//    receives the state.
// Each fault is triggered on an observed event (the ranks' progress), never on a sleep.
#ifndef FSC_TESTS_INTEGRATION_CLUSTER_TRAIN_SCENARIOS_H_
#define FSC_TESTS_INTEGRATION_CLUSTER_TRAIN_SCENARIOS_H_

#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "core/train/checkpoint.h"
#include "tests/integration/cluster_train_harness.h"

namespace fsc::testing {

inline constexpr int kScenarioIterations = 9;

// The trainers' flags of both scenarios.
inline std::vector<std::string> ScenarioTrainerFlags() {
  return {"--collective-timeout", "10", "--rendezvous-poll-ms", "100"};
}

// Busy loops on every core (each its own process group), stopped when this goes away: the load
// under which the scenarios must still finish.
class CpuHog {
 public:
  explicit CpuHog(const std::string& log_dir) {
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < cores; ++i) {
      pids_.push_back(Spawn({"sh", "-c", "while :; do :; done"}, log_dir + "/hog.log"));
    }
  }
  ~CpuHog() {
    for (pid_t pid : pids_) {
      if (pid > 0) kill(-pid, SIGKILL), kill(pid, SIGKILL);
    }
    for (pid_t pid : pids_) {
      if (pid > 0) waitpid(pid, nullptr, 0);
    }
  }
  CpuHog(const CpuHog&) = delete;
  CpuHog& operator=(const CpuHog&) = delete;

 private:
  std::vector<pid_t> pids_;
};

// Fetches job `id`'s model into a new folder (with `flags`) and returns the folder.
inline std::string FetchModel(const TrainCluster& cluster, const std::string& id,
                              const std::string& flags) {
  std::string out = MakeTempDir("fsc-train-fetch");
  CommandResult fetched = cluster.Fsc("fetch " + id + " -o " + out + " " + flags);
  EXPECT_EQ(fetched.exit_code, 0) << fetched.output;
  return out;
}

inline void SigkillScenario(TrainCluster& cluster) {
  namespace fs = std::filesystem;
  using nlohmann::json;
  const std::string faces = FaceSets();
  ASSERT_FALSE(faces.empty());
  ASSERT_TRUE(cluster.ok()) << cluster.error();
  for (const char* name : {"trainer-1", "trainer-2", "trainer-3"}) {
    cluster.StartTrainer(name, ScenarioTrainerFlags());
  }
  // A global batch of 3 (one face per side per rank), a restore point every 3 iterations.
  const std::string id = SubmitLightweightTrain(
      cluster, faces, kScenarioIterations, "--seed 7 --ranks 3 --backend gloo --name elastic-kill");
  ASSERT_FALSE(id.empty());
  json job = cluster.Job(id);
  ASSERT_EQ(job.value("tasks", json::array()).size(), 3u) << job.dump(1);

  // Once the three ranks have trained past a restore point, kill the worker holding the first
  // slot: rank 0, so the model must come from another slot.
  std::string victim_task, victim_worker;
  cluster.WaitForJob(
      id,
      [&](const json& j) {
        if (TrainingTasks(j, 0.3) < 3) return false;
        victim_task = j["tasks"][0]["id"];
        victim_worker = j["tasks"][0].value("worker_id", "");
        return true;
      },
      400);
  ASSERT_FALSE(victim_worker.empty());
  ASSERT_EQ(CountLogLines(cluster, id, "training generation 1: 3 ranks"), 1);
  std::string victim;
  for (const char* name : {"trainer-1", "trainer-2", "trainer-3"}) {
    if (LogHas(cluster, name, victim_worker)) victim = name;
  }
  ASSERT_FALSE(victim.empty()) << "which trainer is " << victim_worker;
  cluster.Kill9(victim);

  job = cluster.WaitForJob(id, JobOver, 600);
  ASSERT_EQ(job.value("state", ""), "JOB_SUCCEEDED") << job.dump(1);

  // The coordinator made a generation of the two survivors after the loss.
  EXPECT_EQ(CountLogLines(cluster, id, "training generation 1: 3 ranks"), 1);
  EXPECT_GE(CountLogLines(cluster, id, ": 2 ranks ("), 1);
  // Recovery without the disk and without moving state: the survivors rolled back in memory,
  // and no member ever sent or received the training state (fresh members with one seed hold
  // the same state at generation 1, the survivors the same restore point afterwards).
  EXPECT_GE(CountLogLines(cluster, id, "back to the restore point of iteration"), 1);
  EXPECT_EQ(CountLogLines(cluster, id, "back to the disk checkpoint"), 0);
  EXPECT_GE(CountLogLines(cluster, id, "nothing to move"), 2);
  EXPECT_EQ(CountLogLines(cluster, id, "sending the state"), 0);
  EXPECT_EQ(CountLogLines(cluster, id, "receiving the state"), 0);
  EXPECT_GE(CountLogLines(cluster, id, "state sent 0 bytes, received 0 bytes"), 1);
  EXPECT_GE(CountLogLines(cluster, id, "first step (iteration"), 2);
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
  EXPECT_EQ(CountLogLines(cluster, id,
                          "trained to iteration " + std::to_string(kScenarioIterations) + " "),
            CountLogLines(cluster, id, "of 2 ranks at the end"));
  EXPECT_EQ(CountLogLines(cluster, id, "rank 0 of 2 ranks at the end"), 1);

  // A plain fetch is the weights (enough to convert with); --with-state adds the training state
  // and the checkpoint verifies whole, with the full iteration count.
  const std::string weights = FetchModel(cluster, id, "");
  EXPECT_FALSE(fs::exists(weights + "/model/state")) << "fetched the training state";
  auto light = train::ReadCheckpoint(weights + "/model", train::CheckpointScope::kWeights);
  ASSERT_TRUE(light.ok()) << light.status();
  EXPECT_EQ(light->manifest.iteration, kScenarioIterations);
  EXPECT_EQ(train::ReadCheckpoint(weights + "/model").status().code(),
            absl::StatusCode::kFailedPrecondition);
  const std::string full = FetchModel(cluster, id, "--with-state");
  auto checkpoint = train::ReadCheckpoint(full + "/model");
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  EXPECT_EQ(checkpoint->manifest.iteration, kScenarioIterations);
  EXPECT_EQ(checkpoint->manifest.model, "lightweight");
  EXPECT_EQ(checkpoint->blobs.at("weights"), light->blobs.at("weights"));
  fs::remove_all(weights);
  fs::remove_all(full);
}

inline void JoinerScenario(TrainCluster& cluster) {
  using nlohmann::json;
  const std::string faces = FaceSets();
  ASSERT_FALSE(faces.empty());
  ASSERT_TRUE(cluster.ok()) << cluster.error();
  cluster.StartTrainer("trainer-1", ScenarioTrainerFlags());
  cluster.StartTrainer("trainer-2", ScenarioTrainerFlags());
  const std::string id = SubmitLightweightTrain(
      cluster, faces, kScenarioIterations, "--seed 5 --ranks 2 --max-ranks 3 --name elastic-join");
  ASSERT_FALSE(id.empty());
  // Two trainers form the group (the third slot waits); once they are training, a third joins.
  cluster.WaitForJob(
      id, [&](const json& j) { return TrainingTasks(j, 0) == 2 || JobOver(j); }, 400);
  ASSERT_EQ(CountLogLines(cluster, id, "training generation 1: 2 ranks"), 1);
  cluster.StartTrainer("trainer-3", ScenarioTrainerFlags());

  json job = cluster.WaitForJob(id, JobOver, 600);
  ASSERT_EQ(job.value("state", ""), "JOB_SUCCEEDED") << job.dump(1);
  EXPECT_EQ(CountLogLines(cluster, id, "training generation 2: 3 ranks"), 1);
  // The group finished as three (under a CPU hog a live rank's 3 s lease may still run out
  // during its final upload, so which rank reports last is not fixed).
  EXPECT_GE(CountLogLines(cluster, id, "of 3 ranks at the end"), 1);
  // Only the joiner lacked the state: one member sent it to one receiver, in generation 2 only
  // (progress lines may come before the final one of each).
  EXPECT_GE(CountLogLines(cluster, id, "generation 2: receiving the state from"), 1);
  EXPECT_EQ(CountLogLines(cluster, id, "receiving the state from"),
            CountLogLines(cluster, id, "generation 2: receiving the state from"));
  EXPECT_EQ(CountLogLines(cluster, id, "sending the state to 1 member(s)"),
            CountLogLines(cluster, id, "sending the state"));
  EXPECT_GE(CountLogLines(cluster, id, "generation 2: sending the state to 1 member(s)"), 1);
}

}  // namespace fsc::testing

#endif  // FSC_TESTS_INTEGRATION_CLUSTER_TRAIN_SCENARIOS_H_
