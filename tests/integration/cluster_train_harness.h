// Harness for the multi-rank training tests: an fsc-coordinator and fsc-worker processes started
// directly (not through `fsc cluster up`), so that each test chooses where they listen (a bridge
// address reachable from network namespaces), the lease TTL and heartbeat that make recovery take
// seconds, and each worker's own flags and command prefix (`ip netns exec NS`). Plaintext gRPC:
// the tests' traffic never leaves the machine. Every process is killed, and the state folder
// removed (kept with the logs printed when a test failed), when the harness goes away.
#ifndef FSC_TESTS_INTEGRATION_CLUSTER_TRAIN_HARNESS_H_
#define FSC_TESTS_INTEGRATION_CLUSTER_TRAIN_HARNESS_H_

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tests/test_paths.h"

namespace fsc::testing {

// Starts `argv` with stdout+stderr appended to `log` and `env` added to the environment; the
// child gets its own process group. Returns its pid (-1 on failure).
inline pid_t Spawn(const std::vector<std::string>& argv, const std::string& log,
                   const std::vector<std::string>& env = {}) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  setpgid(0, 0);
  int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd >= 0) {
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
  }
  for (const std::string& entry : env) putenv(const_cast<char*>(entry.c_str()));
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  execvp(args[0], args.data());
  _exit(127);
}

inline std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

class TrainCluster {
 public:
  struct Options {
    std::string listen_host = "127.0.0.1";  // where the coordinator listens
    int lease_ttl_ms = 3000;
    int heartbeat_ms = 300;
  };

  explicit TrainCluster(const Options& options) : options_(options) {
    dir_ = MakeTempDir("fsc-train-cluster");
    std::filesystem::create_directories(dir_ + "/logs");
    const std::string coordinator = BinDir() + "/fsc-coordinator";
    CommandResult user =
        RunCommand(coordinator + " token create --db " + db() + " --user alice --json 2>&1");
    CommandResult join =
        RunCommand(coordinator + " join-token create --db " + db() + " --json 2>&1");
    if (user.exit_code != 0 || join.exit_code != 0) {
      error_ = "token create failed: " + user.output + join.output;
      return;
    }
    user_token_ = nlohmann::json::parse(user.output, nullptr, false).value("token", "");
    join_token_ = nlohmann::json::parse(join.output, nullptr, false).value("token", "");
    pid_t pid = Spawn({coordinator, "--listen", options_.listen_host + ":0", "--port-file",
                       dir_ + "/port", "--db", db(), "--data-dir", dir_ + "/data", "--insecure",
                       "--lease-ttl-ms", std::to_string(options_.lease_ttl_ms), "--heartbeat-ms",
                       std::to_string(options_.heartbeat_ms)},
                      Log("coordinator"));
    pids_["coordinator"] = pid;
    for (int i = 0; i < 200 && port_.empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      std::string text = ReadText(dir_ + "/port");
      if (!text.empty() && text.back() == '\n') port_ = text.substr(0, text.size() - 1);
    }
    if (port_.empty()) error_ = "the coordinator did not start: " + ReadText(Log("coordinator"));
  }

  ~TrainCluster() {
    for (auto& [name, pid] : pids_) {
      if (pid > 0) kill(-pid, SIGKILL), kill(pid, SIGKILL);
    }
    for (auto& [name, pid] : pids_) {
      if (pid > 0) waitpid(pid, nullptr, 0);
    }
    std::error_code error;
    if (::testing::Test::HasFailure()) {
      std::cerr << "train cluster state and logs kept in " << dir_ << "\n";
      for (const auto& [name, pid] : pids_) {
        std::string text = ReadText(Log(name));
        if (text.size() > 6000) text = "..." + text.substr(text.size() - 6000);
        std::cerr << "---- " << name << " (end) ----\n" << text << "\n";
      }
    } else {
      std::filesystem::remove_all(dir_, error);
    }
  }

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  std::string address() const { return options_.listen_host + ":" + port_; }
  std::string db() const { return dir_ + "/fsc.db"; }
  std::string Log(const std::string& name) const { return dir_ + "/logs/" + name + ".log"; }
  const std::string& dir() const { return dir_; }

  // Starts an fsc-worker named `name` with the train role, under `prefix` (e.g. {"ip", "netns",
  // "exec", "ns1"}), plus `extra` flags. Returns its pid.
  pid_t StartTrainer(const std::string& name, const std::vector<std::string>& extra,
                     const std::vector<std::string>& prefix = {}) {
    std::vector<std::string> argv = prefix;
    std::vector<std::string> worker = {BinDir() + "/fsc-worker",
                                       "--coordinator",
                                       address(),
                                       "--insecure",
                                       "--name",
                                       name,
                                       "--roles",
                                       "train",
                                       "--threads",
                                       "1",
                                       "--lease-wait-ms",
                                       "500",
                                       "--cache-dir",
                                       dir_ + "/" + name + "/cache",
                                       "--work-dir",
                                       dir_ + "/" + name + "/work"};
    argv.insert(argv.end(), worker.begin(), worker.end());
    argv.insert(argv.end(), extra.begin(), extra.end());
    pid_t pid =
        Spawn(argv, Log(name),
              {"FSC_JOIN_TOKEN=" + join_token_, "OMP_NUM_THREADS=1", "OMP_WAIT_POLICY=passive"});
    pids_[name] = pid;
    return pid;
  }

  pid_t Pid(const std::string& name) const {
    auto found = pids_.find(name);
    return found == pids_.end() ? -1 : found->second;
  }

  // SIGKILL and reap.
  void Kill9(const std::string& name) {
    pid_t pid = Pid(name);
    ASSERT_GT(pid, 0) << name;
    ASSERT_EQ(kill(pid, SIGKILL), 0) << name;
    waitpid(pid, nullptr, 0);
    pids_[name] = -1;
  }

  // `fsc ARGS` as user alice against this coordinator; stdout only (stderr to the client log).
  CommandResult Fsc(const std::string& args) const {
    return RunCommand("env -u FSC_CONFIG -u FSC_TLS_CA OMP_NUM_THREADS=1 FSC_COORDINATOR=" +
                      address() + " FSC_TOKEN=" + user_token_ + " FSC_INSECURE=1 " + BinDir() +
                      "/fsc " + args + " 2>>" + Log("client"));
  }
  nlohmann::json Job(const std::string& id) const {
    CommandResult run = Fsc("job " + id + " --json");
    nlohmann::json job = nlohmann::json::parse(run.output, nullptr, false);
    return job.is_discarded() ? nlohmann::json::object() : job;
  }
  // Polls the job until `done(job)`; fails the test after `timeout_s`.
  nlohmann::json WaitForJob(const std::string& id,
                            const std::function<bool(const nlohmann::json&)>& done,
                            int timeout_s) const {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    nlohmann::json job;
    while (std::chrono::steady_clock::now() < deadline) {
      job = Job(id);
      if (done(job)) return job;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    ADD_FAILURE() << "job " << id << " not there in " << timeout_s << " s: " << job.dump(1);
    return job;
  }

 private:
  Options options_;
  std::string dir_, error_, port_, user_token_, join_token_;
  std::map<std::string, pid_t> pids_;
};

inline bool JobOver(const nlohmann::json& job) {
  std::string state = job.value("state", "");
  return state == "JOB_SUCCEEDED" || state == "JOB_FAILED" || state == "JOB_CANCELLED";
}

// Tasks of `job` that a worker holds and that have trained: progress above 0 and at least
// `min_progress`.
inline int TrainingTasks(const nlohmann::json& job, double min_progress) {
  int count = 0;
  for (const nlohmann::json& task : job.value("tasks", nlohmann::json::array())) {
    const double progress = task.value("progress", 0.0);
    count += task.value("state", "") == "TASK_LEASED" && progress > 0 && progress >= min_progress;
  }
  return count;
}

// Submits a lightweight training job on FaceSets()' A and B (global batch 3, a checkpoint every 3
// iterations) with `flags` added; its id, or "" after a failed expectation.
inline std::string SubmitLightweightTrain(const TrainCluster& cluster, const std::string& faces,
                                          int iterations, const std::string& flags) {
  CommandResult submitted = cluster.Fsc("submit train --a " + faces + "/A --b " + faces +
                                        "/B --model lightweight --batch 3 --iterations " +
                                        std::to_string(iterations) + " --save-every 3 " + flags);
  EXPECT_EQ(submitted.exit_code, 0) << submitted.output;
  if (submitted.exit_code != 0) return "";
  return submitted.output.substr(0, submitted.output.find('\n'));
}

// How often `needle` occurs in the job's events (`fsc logs ID --json`: the coordinator's log
// lines and the tasks' own messages, which the text form leaves out).
inline int CountLogLines(const TrainCluster& cluster, const std::string& id,
                         const std::string& needle) {
  CommandResult logs = cluster.Fsc("logs " + id + " --json");
  int count = 0;
  size_t at = 0;
  while ((at = logs.output.find(needle, at)) != std::string::npos) {
    ++count;
    at += needle.size();
  }
  return count;
}

// Real face sets for training, made once per test binary by `fsc extract`: A from every 27th
// frame of the sample video (12 faces), B from four sample photos (10 faces). Returns "" (and
// fails) on error.
inline std::string FaceSets() {
  // Removed when the test binary exits.
  struct Folder {
    std::string path;
    ~Folder() {
      std::error_code error;
      if (!path.empty()) std::filesystem::remove_all(path, error);
    }
  };
  static Folder folder;
  if (!folder.path.empty()) return folder.path;
  std::string dir = MakeTempDir("fsc-train-faces");
  CommandResult a = RunCommand(BinDir() + "/fsc extract " + DataDir() + "/Megamind.avi -o " + dir +
                               "/A --every-n 27 2>&1");
  EXPECT_EQ(a.exit_code, 0) << a.output;
  std::filesystem::create_directories(dir + "/photos");
  for (const char* name : {"sample1.jpg", "sample2.jpg", "sample3.jpg", "astronaut.png"}) {
    std::filesystem::copy_file(DataDir() + "/" + name, dir + "/photos/" + name);
  }
  CommandResult b = RunCommand(BinDir() + "/fsc extract " + dir + "/photos -o " + dir + "/B 2>&1");
  EXPECT_EQ(b.exit_code, 0) << b.output;
  folder.path = dir;
  if (a.exit_code != 0 || b.exit_code != 0) return "";
  return dir;
}

// Whether worker `name`'s log contains `needle`.
inline bool LogHas(const TrainCluster& cluster, const std::string& name,
                   const std::string& needle) {
  return ReadText(cluster.Log(name)).find(needle) != std::string::npos;
}

}  // namespace fsc::testing

#endif  // FSC_TESTS_INTEGRATION_CLUSTER_TRAIN_HARNESS_H_
