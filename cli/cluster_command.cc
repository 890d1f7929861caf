// fsc cluster up|down|status: flags and output for the local cluster supervisor (local_cluster.h)
// and the coordinator's ClusterStatus.
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/client_common.h"
#include "cli/commands.h"
#include "cli/local_cluster.h"
#include "core/rpc/version.h"
#include "core/util/flags.h"
#include "core/util/limits.h"

namespace fsc::cli {
namespace {

int RunUp(const Args& args) {
  LocalClusterOptions options;
  options.dir = DefaultClusterDir();
  const char* user = std::getenv("USER");
  options.user = user != nullptr && *user != '\0' ? user : "local";
  bool local = false, json = false;
  int start_timeout_s = 60;
  int lease_ttl_ms = 0;
  util::FlagSet flags(
      "fsc cluster up", "--local [--workers N] [--dir STATE] [--port P] [--insecure]",
      "Starts a whole cluster on this machine: fsc-coordinator and N fsc-workers as detached\n"
      "processes on 127.0.0.1, TLS on every port (a throwaway CA and certificates are made in\n"
      "STATE/certs; workers authenticate with mTLS and the join token). Writes STATE/config.json\n"
      "(address, your token, the CA) and prints the line that points fsc at it:\n"
      "    eval \"$(fsc cluster up --local)\"   # sets FSC_CONFIG for the other verbs\n"
      "Running it again starts only what is not running (same port, database and tokens).\n"
      "Logs: STATE/logs/. Stop with 'fsc cluster down'.");
  flags.Bool("local", 0, &local, "run the cluster as local processes (the only mode so far)");
  flags.Int("workers", 'w', &options.workers, "fsc-worker processes", {0, 64});
  flags.String("dir", 'd', &options.dir,
               "state folder (default $XDG_STATE_HOME/fsc/cluster, else ./.fsc-cluster)");
  flags.Int("port", 'p', &options.port, "coordinator port (0: the last one used, else a free one)",
            {0, 65535});
  flags.Bool("insecure", 0, &options.insecure, "plaintext gRPC instead of TLS (not recommended)");
  flags.Int("threads", 'j', &options.threads_per_worker,
            "threads per worker (0: the cores split across the workers)", {0, util::kMaxThreads});
  flags.Int("lease-ttl-ms", 0, &lease_ttl_ms,
            "task lease time-to-live given to the coordinator (0: its default)", {0, 86400000});
  flags.Int("timeout", 0, &start_timeout_s, "seconds to wait for the cluster to come up",
            {1, 86400});
  flags.String("user", 0, &options.user, "name of the user the client token is made for");
  flags.Bool("json", 0, &json, "print the result as JSON instead of the export line");
  std::vector<std::string> positional;
  if (auto exit_code = flags.ParseOrExit(args, &positional)) return *exit_code;
  if (!positional.empty()) {
    std::cerr << "fsc cluster up: unexpected argument '" << positional[0]
              << "' (see 'fsc cluster up --help')\n";
    return 2;
  }
  if (!local) {
    std::cerr << "fsc cluster up: only --local is supported: a cluster of processes on this "
                 "machine (see 'fsc cluster up --help')\n";
    return 2;
  }
  options.lease_ttl_ms = lease_ttl_ms;
  options.start_timeout = absl::Seconds(start_timeout_s);
  auto report = LocalClusterUp(options);
  if (!report.ok()) return Fail("cluster up", report.status());
  std::string config = std::filesystem::absolute(report->config_path).string();
  if (json) {
    nlohmann::json out = {{"address", report->address},
                          {"config", config},
                          {"already_up", report->already_up},
                          {"started", report->started},
                          {"workers_alive", report->workers_alive},
                          {"prometheus_config", report->prometheus_config},
                          {"metrics", report->metrics_urls}};
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  if (report->already_up) {
    std::cerr << "fsc cluster: already up on " << report->address << " with "
              << report->workers_alive << " workers\n";
  } else {
    std::cerr << "fsc cluster: up on " << report->address << ": coordinator + "
              << report->workers_alive << " workers (started "
              << absl::StrJoin(report->started, ", ") << ")\n";
  }
  std::cerr << "fsc cluster: metrics of every process: prometheus --config.file="
            << report->prometheus_config << "\n";
  std::cerr << "fsc cluster: point the other verbs at it with:\n";
  std::cout << "export FSC_CONFIG=" << config << "\n";
  return 0;
}

int RunDown(const Args& args) {
  std::string dir = DefaultClusterDir();
  int grace_s = 10;
  bool local = true;
  util::FlagSet flags(
      "fsc cluster down", "[--dir STATE] [--grace S]",
      "Stops the local cluster started by 'fsc cluster up --local': the workers,\n"
      "then the coordinator (SIGTERM, then SIGKILL after the grace period). The\n"
      "state folder (database, certificates, tokens, logs) stays, so 'up' resumes.");
  flags.String("dir", 'd', &dir, "state folder given to 'fsc cluster up'");
  flags.Int("grace", 0, &grace_s, "seconds to wait after SIGTERM before SIGKILL", {0, 86400});
  flags.Bool("local", 0, &local, "accepted for symmetry with 'up --local'");
  std::vector<std::string> positional;
  if (auto exit_code = flags.ParseOrExit(args, &positional)) return *exit_code;
  auto stopped = LocalClusterDown(dir, absl::Seconds(grace_s));
  if (!stopped.ok()) return Fail("cluster down", stopped.status());
  if (stopped->empty()) {
    std::cerr << "fsc cluster: nothing was running in " << dir << "\n";
  } else {
    std::cerr << "fsc cluster: stopped " << absl::StrJoin(*stopped, ", ") << "\n";
  }
  return 0;
}

int RunStatus(const Args& args) {
  rpc::ConnectFlags connect;
  std::string dir = DefaultClusterDir();
  bool json = false;
  util::FlagSet flags(
      "fsc cluster status", "[--json] [connection flags]",
      "Shows the coordinator's view of the cluster: workers (alive, roles, threads, how many\n"
      "tasks they hold and which of them are yours), your jobs by state and the tasks queued\n"
      "(of every user); plus the local processes when the state folder of\n"
      "'fsc cluster up --local' exists. Without any connection setting it uses that folder's\n"
      "config.json.");
  rpc::AddConnectFlags(&flags, &connect);
  flags.String("dir", 'd', &dir, "local cluster state folder");
  flags.Bool("json", 0, &json, "print the status as JSON");
  std::vector<std::string> positional;
  if (auto exit_code = flags.ParseOrExit(args, &positional)) return *exit_code;
  std::string local_config = (std::filesystem::path(dir) / "config.json").string();
  if (rpc::ConfigPath(connect).empty() && connect.coordinator.empty() &&
      std::getenv("FSC_COORDINATOR") == nullptr && std::filesystem::exists(local_config)) {
    connect.config = local_config;
  }
  std::vector<LocalProcessInfo> processes = LocalClusterProcesses(dir);

  auto client = Connect(connect);
  if (!client.ok()) return Fail("cluster status", client.status());
  absl::StatusOr<proto::ClusterStatusResponse> answer =
      Call(*client, &proto::ClientService::Stub::ClusterStatus, proto::ClusterStatusRequest(),
           "ClusterStatus", absl::Seconds(10));
  if (!answer.ok()) {
    for (const LocalProcessInfo& process : processes) {
      std::cerr << absl::StrFormat(
          "  local %-12s %s\n", process.name,
          process.running ? absl::StrCat("pid ", process.pid) : std::string("not running"));
    }
    return Fail("cluster status", answer.status());
  }
  const proto::ClusterStatusResponse& response = *answer;
  if (json) {
    nlohmann::json out = nlohmann::json::parse(ToJson(response));
    out["address"] = client->options.address;
    nlohmann::json local = nlohmann::json::array();
    for (const LocalProcessInfo& process : processes) {
      local.push_back({{"name", process.name},
                       {"pid", process.pid},
                       {"running", process.running},
                       {"log", process.log_path}});
    }
    out["local_processes"] = local;
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  int alive = 0;
  for (const auto& worker : response.workers()) alive += worker.alive() ? 1 : 0;
  std::cout << "coordinator " << client->options.address << " (" << response.coordinator_version()
            << ")\n";
  std::cout << "workers: " << response.workers_size() << " (" << alive << " alive)\n";
  if (response.workers_size() > 0) {
    std::cout << absl::StrFormat("  %-14s %-10s %-6s %-22s %-8s %-20s %s\n", "NAME", "ID", "ALIVE",
                                 "ROLES", "THREADS", "LAST HEARTBEAT", "TASKS");
  }
  for (const auto& worker : response.workers()) {
    std::vector<std::string> roles;
    for (int role : worker.roles())
      roles.push_back(rpc::WorkerRoleName(static_cast<proto::WorkerRole>(role)));
    // Only the caller's task ids come back; the others are counted.
    std::vector<std::string> tasks;
    for (const std::string& task : worker.task_ids()) tasks.push_back(task.substr(0, 8));
    const int others = worker.leased_tasks() - worker.task_ids_size();
    if (others > 0) tasks.push_back(absl::StrCat(others, " of other users"));
    std::cout << absl::StrFormat("  %-14s %-10s %-6s %-22s %-8d %-20s %s\n", worker.name(),
                                 worker.id().substr(0, 8), worker.alive() ? "yes" : "no",
                                 absl::StrJoin(roles, ","), worker.cpu_threads(),
                                 FormatUnixMs(worker.last_heartbeat_unix_ms()),
                                 tasks.empty() ? "-" : absl::StrJoin(tasks, ","));
  }
  std::vector<std::string> by_state;
  for (proto::JobState state : {proto::JOB_QUEUED, proto::JOB_RUNNING, proto::JOB_SUCCEEDED,
                                proto::JOB_FAILED, proto::JOB_CANCELLED}) {
    int64_t count = 0;
    // The map's keys are the coordinator's; accept the enum name and the lowercase name.
    for (const auto& [key, value] : response.jobs_by_state()) {
      if (key == proto::JobState_Name(state) || key == JobStateName(state)) count += value;
    }
    by_state.push_back(absl::StrCat(JobStateName(state), " ", count));
  }
  std::cout << "your jobs: " << absl::StrJoin(by_state, ", ") << "\n";
  std::cout << "queued tasks (all users): " << response.queued_tasks() << "\n";
  if (!processes.empty()) {
    std::cout << "local processes (" << dir << "):\n";
    for (const LocalProcessInfo& process : processes) {
      std::cout << absl::StrFormat(
          "  %-14s %s\n", process.name,
          process.running ? absl::StrCat("pid ", process.pid) : std::string("not running"));
    }
  }
  return 0;
}

}  // namespace

int RunClusterCommand(const Args& args) {
  const std::string usage =
      "usage: fsc cluster up --local [--workers N] [--dir STATE] [--port P] [--insecure]\n"
      "       fsc cluster down [--dir STATE]\n"
      "       fsc cluster status [--json]\n"
      "(fsc cluster SUBCOMMAND --help for its options)\n";
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << usage;
    return args.empty() ? 2 : 0;
  }
  Args rest(args.begin() + 1, args.end());
  if (args[0] == "up") return RunUp(rest);
  if (args[0] == "down") return RunDown(rest);
  if (args[0] == "status") return RunStatus(rest);
  std::cerr << "fsc cluster: unknown subcommand '" << args[0] << "'\n" << usage;
  return 2;
}

}  // namespace fsc::cli
