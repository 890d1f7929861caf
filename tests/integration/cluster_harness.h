// Test harness for the end-to-end cluster tests: a real local cluster (fsc-coordinator and
// fsc-workers as processes on 127.0.0.1, TLS on) started with `fsc cluster up --local` in a temp
// state folder, and helpers to run the fsc client verbs against it and read their JSON.
#ifndef FSC_TESTS_INTEGRATION_CLUSTER_HARNESS_H_
#define FSC_TESTS_INTEGRATION_CLUSTER_HARNESS_H_

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "tests/test_paths.h"

namespace fsc::testing {

// The environment variables that could point a client elsewhere are cleared for every command,
// so the tests see only what they pass.
inline std::string CleanEnv() {
  return "env -u FSC_COORDINATOR -u FSC_TOKEN -u FSC_TLS_CA -u FSC_TLS_CERT -u FSC_TLS_KEY "
         "-u FSC_INSECURE -u FSC_CONFIG -u XDG_CONFIG_HOME OMP_NUM_THREADS=1 "
         "OMP_WAIT_POLICY=passive ";
}

// The JSON a verb printed on stdout; an empty object (and a test failure) when it is not JSON.
inline nlohmann::json ParseJsonOutput(const CommandResult& run) {
  nlohmann::json json = nlohmann::json::parse(run.output, nullptr, false);
  EXPECT_FALSE(json.is_discarded()) << "not JSON: " << run.output;
  return json.is_discarded() ? nlohmann::json::object() : json;
}

// An int64 in proto3 JSON (written as a string) or a plain number.
inline int64_t JsonInt(const nlohmann::json& value) {
  if (value.is_string()) return std::stoll(value.get<std::string>());
  if (value.is_number()) return value.get<int64_t>();
  return 0;
}

class LocalCluster {
 public:
  // Brings up a cluster with `workers` workers; `extra` is appended to `fsc cluster up`. Check
  // `ok()` (with ASSERT_TRUE) before using it.
  LocalCluster(int workers, const std::string& extra = "") {
    dir_ = MakeTempDir("fsc-cluster");
    home_ = MakeTempDir("fsc-home");
    up_ = Up(workers, extra);
  }
  ~LocalCluster() {
    RunCommand(CleanEnv() + BinDir() + "/fsc cluster down --grace 5 --dir " + dir_ + " 2>&1");
    if (::testing::Test::HasFailure()) {
      std::cerr << "cluster state and logs kept in " << dir_ << "\n";
      for (const char* log : {"coordinator", "worker-1", "worker-2"}) {
        std::string path = dir_ + "/logs/" + log + ".log";
        std::ifstream in(path);
        if (!in) continue;
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (text.size() > 4000) text = "..." + text.substr(text.size() - 4000);
        std::cerr << "---- " << path << " (end) ----\n" << text << "\n";
      }
    } else {
      std::error_code error;
      std::filesystem::remove_all(dir_, error);
    }
    std::error_code error;
    std::filesystem::remove_all(home_, error);
  }

  // `fsc cluster up` again (idempotent: restarts only what is not running).
  CommandResult Up(int workers, const std::string& extra = "") {
    return RunCommand(CleanEnv() + BinDir() + "/fsc cluster up --local --timeout 120 --dir " +
                      dir_ + " --workers " + std::to_string(workers) + " " + extra + " 2>&1");
  }

  bool ok() const { return up_.exit_code == 0; }
  const CommandResult& up_result() const { return up_; }
  const std::string& dir() const { return dir_; }
  std::string config() const { return dir_ + "/config.json"; }

  // The command line of `fsc ARGS` pointed at this cluster through its config file only.
  std::string Command(const std::string& args) const {
    return CleanEnv() + "HOME=" + home_ + " FSC_CONFIG=" + config() + " " + BinDir() + "/fsc " +
           args;
  }
  // Runs `fsc ARGS`; stdout only unless `with_stderr`.
  CommandResult Fsc(const std::string& args, bool with_stderr = false) const {
    return RunCommand(Command(args) + (with_stderr ? " 2>&1" : " 2>>" + dir_ + "/client.log"));
  }
  nlohmann::json FscJson(const std::string& args) const {
    CommandResult run = Fsc(args);
    EXPECT_EQ(run.exit_code, 0) << "fsc " << args << ": " << run.output;
    return ParseJsonOutput(run);
  }
  nlohmann::json Job(const std::string& id) const { return FscJson("job " + id + " --json"); }

  // Polls the job until `done(job)` holds; returns the last job seen (and fails the test after
  // `timeout_s`).
  nlohmann::json WaitForJob(const std::string& id,
                            const std::function<bool(const nlohmann::json&)>& done,
                            int timeout_s = 300) const {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    nlohmann::json job;
    while (std::chrono::steady_clock::now() < deadline) {
      CommandResult run = Fsc("job " + id + " --json");
      if (run.exit_code == 0) {
        job = nlohmann::json::parse(run.output, nullptr, false);
        if (!job.is_discarded() && done(job)) return job;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    ADD_FAILURE() << "job " << id << " did not reach the expected state in " << timeout_s
                  << " s; last seen: " << job.dump(1);
    return job;
  }

  // The pid a local process of the cluster was started with ("coordinator", "worker-1").
  pid_t Pid(const std::string& name) const {
    std::ifstream in(dir_ + "/pids/" + name + ".pid");
    long pid = 0;
    in >> pid;
    return static_cast<pid_t>(pid);
  }
  // kill -9, and waits until the process is gone (or a zombie).
  void Kill9(const std::string& name) const {
    pid_t pid = Pid(name);
    ASSERT_GT(pid, 0) << "no pid file for " << name;
    ASSERT_EQ(kill(pid, SIGKILL), 0) << name;
    for (int i = 0; i < 200; ++i) {
      std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
      std::string line;
      if (!std::getline(stat, line)) return;
      size_t close = line.rfind(')');
      if (close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z') return;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
  }

  // The worker name ("worker-1") of a worker id, from the coordinator's ClusterStatus.
  std::string WorkerName(const std::string& worker_id) const {
    nlohmann::json status = FscJson("cluster status --json --dir " + dir_);
    for (const auto& worker : status.value("workers", nlohmann::json::array())) {
      if (worker.value("id", "") == worker_id) return worker.value("name", "");
    }
    return "";
  }

 private:
  std::string dir_;
  std::string home_;
  CommandResult up_;
};

// Tasks of a job (JSON from `fsc job ID --json`) of one kind ("TASK_EXTRACT").
inline std::vector<nlohmann::json> TasksOfKind(const nlohmann::json& job, const std::string& kind) {
  std::vector<nlohmann::json> out;
  for (const auto& task : job.value("tasks", nlohmann::json::array())) {
    if (task.value("kind", "") == kind) out.push_back(task);
  }
  return out;
}

}  // namespace fsc::testing

#endif  // FSC_TESTS_INTEGRATION_CLUSTER_HARNESS_H_
