// End to end, with failures: a worker killed with -9 in the middle of a task (its lease runs out
// and another worker redoes the task), and the coordinator killed with -9 in the middle of a job
// and restarted on the same database (the job finishes and nothing that succeeded runs again).
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

#include "tests/integration/cluster_harness.h"

namespace fsc {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::CommandResult;

std::string SubmitExtract(const testing::LocalCluster& cluster, const std::string& flags) {
  CommandResult submitted =
      cluster.Fsc("submit extract " + testing::DataDir() + "/Megamind.avi " + flags);
  EXPECT_EQ(submitted.exit_code, 0) << submitted.output;
  return submitted.output.substr(0, submitted.output.find('\n'));
}

bool Final(const json& job) {
  std::string state = job.value("state", "");
  return state == "JOB_SUCCEEDED" || state == "JOB_FAILED" || state == "JOB_CANCELLED";
}

// The frames of the fetched alignments of a job.
std::set<int64_t> FetchedFrames(const testing::LocalCluster& cluster, const std::string& id) {
  std::string out = testing::MakeTempDir("fsc-fault-fetch");
  CommandResult fetched = cluster.Fsc("fetch " + id + " -o " + out + " --path alignments.fsca");
  EXPECT_EQ(fetched.exit_code, 0) << fetched.output;
  CommandResult dump = testing::RunCommand(testing::BinDir() + "/fsc alignments dump " + out +
                                           "/alignments.fsca --json");
  EXPECT_EQ(dump.exit_code, 0) << dump.output;
  std::set<int64_t> frames;
  for (const json& frame : testing::ParseJsonOutput(dump).value("frames", json::array())) {
    frames.insert(testing::JsonInt(frame["frame"]));
  }
  fs::remove_all(out);
  return frames;
}

TEST(ClusterFaultTest, AWorkerKilledMidTaskIsReplacedAfterItsLease) {
  // A short lease so the lost task comes back quickly.
  testing::LocalCluster cluster(2, "--lease-ttl-ms 5000");
  ASSERT_TRUE(cluster.ok()) << cluster.up_result().output;
  // Long ranges (every frame, 135 per task) so a task is still running when its worker dies.
  std::string id = SubmitExtract(cluster, "--every-n 1 --frames-per-task 135");
  ASSERT_FALSE(id.empty());

  // The trigger: an extract task leased to a worker and not yet half done (an observed lease and
  // progress report; a 135-frame task stays leased for many seconds, however slow the polls).
  // Its worker is frozen (SIGSTOP) at once, so the task cannot end before the kill, then killed.
  std::string victim_task, victim_worker;
  const auto under_way = [&](const json& job) {
    for (const json& task : testing::TasksOfKind(job, "TASK_EXTRACT")) {
      const double progress = task.value("progress", 0.0);
      if (task.value("state", "") == "TASK_LEASED" && progress < 0.5) {
        victim_task = task["id"];
        victim_worker = task["worker_id"];
        return true;
      }
    }
    return Final(job);
  };
  cluster.WaitForJob(id, under_way);
  ASSERT_FALSE(victim_task.empty()) << "the job ended before a task could be interrupted";
  std::string name = cluster.WorkerName(victim_worker);
  ASSERT_FALSE(name.empty()) << "worker " << victim_worker << " not in cluster status";
  ASSERT_EQ(kill(cluster.Pid(name), SIGSTOP), 0);
  // Frozen, the victim did not finish the task: it is still leased to it (or, on a machine so slow
  // that the lease ran out while this looked, back with the coordinator).
  bool finished_by_victim = false;
  for (const json& task : testing::TasksOfKind(cluster.Job(id), "TASK_EXTRACT")) {
    finished_by_victim = finished_by_victim || (task["id"] == victim_task &&
                                                task.value("state", "") == "TASK_SUCCEEDED" &&
                                                task.value("worker_id", "") == victim_worker);
  }
  ASSERT_FALSE(finished_by_victim) << "the task ended before its worker was frozen";
  cluster.Kill9(name);

  json job = cluster.WaitForJob(id, Final);
  ASSERT_EQ(job.value("state", ""), "JOB_SUCCEEDED") << job.dump(1);
  bool found = false;
  for (const json& task : job["tasks"]) {
    if (task["id"] != victim_task) continue;
    found = true;
    EXPECT_EQ(task.value("state", ""), "TASK_SUCCEEDED");
    EXPECT_GE(task.value("attempt", 0), 2) << "the interrupted task ran again";
    EXPECT_NE(task.value("worker_id", ""), victim_worker) << "finished by the surviving worker";
  }
  EXPECT_TRUE(found);
  // The interrupted range is in the merged result: every sampled frame that has a face in the
  // video; at least one frame from each task's range.
  std::set<int64_t> frames = FetchedFrames(cluster, id);
  for (const json& task : testing::TasksOfKind(job, "TASK_EXTRACT")) {
    int64_t begin = testing::JsonInt(task["frame_begin"]);
    int64_t end = testing::JsonInt(task["frame_end"]);
    auto it = frames.lower_bound(begin);
    EXPECT_TRUE(it != frames.end() && *it < end) << "no frames from range " << begin << "-" << end;
  }
}

TEST(ClusterFaultTest, ACoordinatorKilledMidJobResumesFromItsDatabase) {
  testing::LocalCluster cluster(2);
  ASSERT_TRUE(cluster.ok()) << cluster.up_result().output;
  std::string id = SubmitExtract(cluster, "--every-n 2 --frames-per-task 30");
  ASSERT_FALSE(id.empty());

  // Once a few ranges are done (and while others are not), kill the coordinator.
  json before = cluster.WaitForJob(id, [](const json& job) {
    int succeeded = 0;
    for (const json& task : testing::TasksOfKind(job, "TASK_EXTRACT")) {
      succeeded += task.value("state", "") == "TASK_SUCCEEDED" ? 1 : 0;
    }
    return succeeded >= 2 || Final(job);
  });
  ASSERT_FALSE(Final(before)) << "the job ended before the coordinator could be killed";
  // A client following the job rides out the restart: `fsc logs -f` in the background.
  const std::string follow_out = cluster.dir() + "/follow.out";
  const std::string follow_rc = cluster.dir() + "/follow.rc";
  testing::RunCommand("(" + cluster.Command("logs -f " + id) + " > " + follow_out +
                      " 2>&1; echo $? > " + follow_rc + ".tmp; mv " + follow_rc + ".tmp " +
                      follow_rc + ") < /dev/null > /dev/null 2>&1 &");
  for (int i = 0; i < 150 && (!fs::exists(follow_out) || fs::file_size(follow_out) == 0); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // until it is following
  }
  cluster.Kill9("coordinator");
  // What had succeeded, as the coordinator reported it just before. (A task may have succeeded
  // between that look and the kill; those are only missing from the check, not wrong.)
  std::map<std::string, json> done_before;
  for (const json& task : before["tasks"]) {
    if (task.value("state", "") == "TASK_SUCCEEDED") done_before[task["id"]] = task;
  }

  // `up` again restarts only the coordinator, on the same port and database.
  CommandResult again = cluster.Up(2);
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("starting fsc-coordinator"), std::string::npos) << again.output;
  EXPECT_EQ(again.output.find("starting fsc-worker"), std::string::npos) << again.output;

  json job = cluster.WaitForJob(id, Final);
  ASSERT_EQ(job.value("state", ""), "JOB_SUCCEEDED") << job.dump(1);
  for (const json& task : job["tasks"]) {
    auto it = done_before.find(task["id"]);
    if (it == done_before.end()) continue;
    const json& old = it->second;
    EXPECT_EQ(task.value("state", ""), "TASK_SUCCEEDED");
    EXPECT_EQ(task.value("attempt", 0), old.value("attempt", 0)) << "task ran again: " << task;
    EXPECT_EQ(task.value("worker_id", ""), old.value("worker_id", "")) << task;
    EXPECT_EQ(task["outputs"], old["outputs"]) << "its outputs changed: " << task;
  }
  EXPECT_FALSE(done_before.empty());

  // The follower saw the end of the job after reconnecting, and exited 0.
  for (int i = 0; i < 300 && !fs::exists(follow_rc); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  std::ifstream rc_in(follow_rc);
  int rc = -1;
  rc_in >> rc;
  std::ifstream out_in(follow_out);
  std::string follow_text((std::istreambuf_iterator<char>(out_in)),
                          std::istreambuf_iterator<char>());
  EXPECT_EQ(rc, 0) << follow_text;
  EXPECT_NE(follow_text.find("reconnected"), std::string::npos) << follow_text;
  EXPECT_NE(follow_text.find("succeeded"), std::string::npos) << follow_text;
  std::set<int64_t> frames = FetchedFrames(cluster, id);
  EXPECT_FALSE(frames.empty());
  EXPECT_EQ(*frames.rbegin() % 2, 0) << "every-n 2 holds across the restart";
}

}  // namespace
}  // namespace fsc
