// The local cluster supervisor behind `fsc cluster up/down --local`.
#include "cli/local_cluster.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cli/client_common.h"
#include "cli/local_processes.h"
#include "cli/prometheus_config.h"
#include "core/rpc/certs.h"
#include "core/rpc/client_config.h"
#include "core/rpc/secret_file.h"
#include "core/rpc/version.h"
#include "core/util/file_io.h"
#include "core/util/json_fields.h"
#include "core/util/status_macros.h"
#include "core/util/subprocess.h"

namespace fsc::cli {
namespace fs = std::filesystem;
namespace {

// How often the generated prometheus.yml scrapes: a local cluster runs short jobs.
constexpr int kLocalScrapeIntervalSeconds = 5;

// Paths inside the state folder.
struct StatePaths {
  explicit StatePaths(const std::string& root) : dir(root) {}
  std::string Path(const std::string& relative) const {
    return (fs::path(dir) / relative).string();
  }
  std::string db() const { return Path("coordinator.db"); }
  std::string data() const { return Path("data"); }
  std::string certs() const { return Path("certs"); }
  std::string join_token() const { return Path("join-token"); }
  std::string user_token() const { return Path("user-token"); }
  std::string cluster_json() const { return Path("cluster.json"); }
  std::string config() const { return Path("config.json"); }
  std::string prometheus() const { return Path("prometheus.yml"); }
  std::string log(const std::string& name) const { return Path("logs/" + name + ".log"); }
  std::string pid(const std::string& name) const { return Path("pids/" + name + ".pid"); }
  std::string worker_dir(int index) const { return Path("workers/" + std::to_string(index)); }
  std::string dir;
};

std::string WorkerName(int index) { return absl::StrCat("worker-", index); }

void Say(const std::string& line) { std::cerr << "fsc cluster: " << line << "\n"; }

// A token printed by `fsc-coordinator token create` / `join-token create`: the last word of the
// last non-empty line of its output.
absl::StatusOr<std::string> LastWord(const std::string& output, const std::string& what) {
  std::vector<std::string> lines = absl::StrSplit(output, '\n', absl::SkipWhitespace());
  if (lines.empty()) return absl::InternalError(what + " printed no token");
  std::vector<std::string> words = absl::StrSplit(lines.back(), ' ', absl::SkipWhitespace());
  if (words.empty()) return absl::InternalError(what + " printed no token");
  return std::string(absl::StripAsciiWhitespace(words.back()));
}

absl::StatusOr<std::string> ReadToken(const std::string& path) {
  FSC_ASSIGN_OR_RETURN(std::string text, util::ReadFile(path));
  std::string token(absl::StripAsciiWhitespace(text));
  if (token.empty()) return absl::DataLossError("empty token file " + path);
  return token;
}

// Reads or creates the user and join tokens. They are created together with the database, so a
// state folder whose tokens went missing gets fresh ones (the old ones stay valid in the db).
absl::Status EnsureTokens(const StatePaths& state, const std::string& coordinator_bin,
                          const std::string& user, std::string* user_token,
                          std::string* join_token) {
  auto existing_user = ReadToken(state.user_token());
  auto existing_join = ReadToken(state.join_token());
  if (existing_user.ok() && existing_join.ok() && fs::exists(state.db())) {
    *user_token = *existing_user;
    *join_token = *existing_join;
    return absl::OkStatus();
  }
  Say("creating the job database, a token for user '" + user + "' and the join token");
  FSC_ASSIGN_OR_RETURN(
      std::string user_out,
      util::RunForOutput({coordinator_bin, "token", "create", "--db", state.db(), "--user", user}));
  FSC_ASSIGN_OR_RETURN(*user_token, LastWord(user_out, "fsc-coordinator token create"));
  FSC_ASSIGN_OR_RETURN(std::string join_out, util::RunForOutput({coordinator_bin, "join-token",
                                                                 "create", "--db", state.db()}));
  FSC_ASSIGN_OR_RETURN(*join_token, LastWord(join_out, "fsc-coordinator join-token create"));
  FSC_RETURN_IF_ERROR(rpc::WriteSecretFileAtomically(state.user_token(), *user_token + "\n"));
  FSC_RETURN_IF_ERROR(rpc::WriteSecretFileAtomically(state.join_token(), *join_token + "\n"));
  return absl::OkStatus();
}

// cluster.json: what a restart must keep the same.
struct ClusterRecord {
  int port = 0;
  bool insecure = false;
  bool present = false;
  std::map<std::string, int> metrics_ports;  // process name -> its --metrics-port
};

// The record of an earlier `up`, or an empty one when there is none. A record that is not what
// WriteClusterRecord writes (edited by hand) is FAILED_PRECONDITION naming the file, the field and
// what to do, rather than a guess at which port the running cluster has.
absl::StatusOr<ClusterRecord> ReadClusterRecord(const StatePaths& state) {
  ClusterRecord record;
  if (!fs::exists(state.cluster_json())) return record;
  FSC_ASSIGN_OR_RETURN(std::string text, util::ReadFile(state.cluster_json()));
  auto unusable = [&](const std::string& what) {
    return absl::FailedPreconditionError(absl::StrCat(
        state.cluster_json(), ": ", what, "; correct it (fsc writes {\"port\": N, \"insecure\": ",
        "false, \"metrics_ports\": {\"NAME\": N}}), or run 'fsc cluster down --dir ", state.dir,
        "' and delete the file"));
  };
  // The port `value` holds (0: none); `field` names it in the error.
  auto port_number = [&](const nlohmann::json& value,
                         const std::string& field) -> absl::StatusOr<int> {
    std::optional<int64_t> number = util::JsonInt64(value);
    if (!number || *number < 0 || *number > 65535) {
      return unusable(absl::StrCat(field, " must be a port number, not ", value.dump()));
    }
    return static_cast<int>(*number);
  };
  const nlohmann::json json = util::ParseOutsideJson(text);
  if (!json.is_object()) return unusable("not a JSON object");
  if (const nlohmann::json* port = util::JsonField(json, "port")) {
    FSC_ASSIGN_OR_RETURN(record.port, port_number(*port, "\"port\""));
  }
  if (const nlohmann::json* insecure = util::JsonField(json, "insecure")) {
    std::optional<bool> value = util::JsonBool(*insecure);
    if (!value) {
      return unusable(absl::StrCat("\"insecure\" must be true or false, not ", insecure->dump()));
    }
    record.insecure = *value;
  }
  record.present = record.port > 0;
  if (const nlohmann::json* metrics = util::JsonField(json, "metrics_ports")) {
    if (!metrics->is_object()) {
      return unusable(absl::StrCat("\"metrics_ports\" must be an object, not ", metrics->dump()));
    }
    for (const auto& [name, port] : metrics->items()) {
      FSC_ASSIGN_OR_RETURN(record.metrics_ports[name],
                           port_number(port, absl::StrCat("\"metrics_ports\".\"", name, "\"")));
    }
  }
  return record;
}

absl::Status WriteClusterRecord(const StatePaths& state, const ClusterRecord& record) {
  nlohmann::json json = {{"port", record.port},
                         {"insecure", record.insecure},
                         {"metrics_ports", record.metrics_ports}};
  return util::WriteFileAtomically(state.cluster_json(), json.dump(2) + "\n");
}

bool Running(const StatePaths& state, const std::string& name, PidRecord* record = nullptr) {
  auto read = ReadPidFile(state.pid(name));
  if (!read.ok()) return false;
  if (record != nullptr) *record = *read;
  return IsRunning(*read);
}

absl::Status Start(const StatePaths& state, const std::string& name,
                   const std::vector<std::string>& argv,
                   const std::vector<std::string>& extra_env = {}) {
  FSC_ASSIGN_OR_RETURN(pid_t pid, SpawnDetached(argv, state.log(name), extra_env));
  return WritePidFile(state.pid(name), PidRecord{pid, argv[0]});
}

// Polls ClusterStatus until the coordinator answers and `want_workers` workers are alive. Fails
// early, with its log's tail, when the coordinator process exits.
absl::StatusOr<int> AwaitCluster(const StatePaths& state, const rpc::ConnectOptions& connect,
                                 int want_workers, absl::Duration timeout) {
  // A channel whose first connection was refused waits out gRPC's reconnect backoff (up to
  // 20 s) before it tries again; a fresh channel per attempt notices a new server at once.
  Client client;
  bool answered = false;
  absl::Time deadline = absl::Now() + timeout;
  std::string last_error = "no answer yet";
  bool announced_workers = false;
  for (;;) {
    if (!Running(state, "coordinator")) {
      return absl::FailedPreconditionError(absl::StrCat("fsc-coordinator exited; the end of ",
                                                        state.log("coordinator"), ":\n",
                                                        TailFile(state.log("coordinator"), 15)));
    }
    if (!answered) {
      FSC_ASSIGN_OR_RETURN(client.channel, rpc::MakeChannel(connect));
      client.options = connect;
      client.stub = proto::ClientService::NewStub(client.channel);
    }
    proto::ClusterStatusRequest request;
    request.set_version(rpc::kClusterProtoVersion);
    proto::ClusterStatusResponse response;
    auto context = client.Context(absl::Seconds(2));
    grpc::Status status = client.stub->ClusterStatus(context.get(), request, &response);
    answered = answered || status.ok();
    if (status.ok()) {
      int alive = 0;
      for (const auto& worker : response.workers()) alive += worker.alive() ? 1 : 0;
      if (alive >= want_workers) return alive;
      if (!announced_workers) {
        Say(absl::StrCat("coordinator is up; waiting for ", want_workers, " workers to register"));
        announced_workers = true;
      }
      last_error = absl::StrCat(alive, " of ", want_workers, " workers registered");
      for (int i = 1; i <= want_workers; ++i) {
        if (!Running(state, WorkerName(i))) {
          return absl::FailedPreconditionError(absl::StrCat(
              "fsc-worker ", WorkerName(i), " exited; the end of ", state.log(WorkerName(i)), ":\n",
              TailFile(state.log(WorkerName(i)), 15)));
        }
      }
    } else if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
               status.error_code() == grpc::StatusCode::PERMISSION_DENIED) {
      return RpcError(status, "ClusterStatus", connect);
    } else {
      last_error = status.error_message();
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat("the local cluster did not come up within ",
                                                      HumanDuration(timeout), " (", last_error,
                                                      "); see the logs in ", state.Path("logs")));
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
}

// Gives a process about to start a free metrics port on 127.0.0.1 (recorded in cluster.json so
// that prometheus.yml keeps naming it while the process runs).
absl::Status AddMetricsFlags(const std::string& name, ClusterRecord* record,
                             std::vector<std::string>* argv) {
  FSC_ASSIGN_OR_RETURN(int port, PickFreePort());
  record->metrics_ports[name] = port;
  argv->insert(argv->end(),
               {"--metrics-host", "127.0.0.1", "--metrics-port", std::to_string(port)});
  return absl::OkStatus();
}

// STATE/prometheus.yml over the coordinator and workers 1..workers that have a metrics port.
absl::Status WritePrometheusConfig(const StatePaths& state, const ClusterRecord& record,
                                   int workers, LocalClusterReport* report) {
  std::vector<ScrapeTarget> targets;
  auto add = [&](const std::string& name, const std::string& job, const std::string& component) {
    auto found = record.metrics_ports.find(name);
    if (found == record.metrics_ports.end()) return;  // started by an fsc without metrics
    std::string address = absl::StrCat("127.0.0.1:", found->second);
    targets.push_back({job, address, component, name});
    report->metrics_urls.push_back("http://" + address + "/metrics");
  };
  add("coordinator", "fsc-coordinator", "coordinator");
  for (int i = 1; i <= workers; ++i) add(WorkerName(i), "fsc-worker", "worker");
  report->prometheus_config = state.prometheus();
  return util::WriteFileAtomically(state.prometheus(),
                                   PrometheusConfig(targets, kLocalScrapeIntervalSeconds));
}

}  // namespace

std::string DefaultClusterDir() {
  const char* xdg = std::getenv("XDG_STATE_HOME");
  if (xdg != nullptr && *xdg != '\0') return (fs::path(xdg) / "fsc" / "cluster").string();
  return ".fsc-cluster";
}

absl::StatusOr<LocalClusterReport> LocalClusterUp(const LocalClusterOptions& options) {
  if (options.workers < 0) return absl::InvalidArgumentError("--workers must be 0 or more");
  std::error_code error;
  fs::create_directories(options.dir, error);
  if (error) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create the state folder ", options.dir, ": ", error.message()));
  }
  StatePaths state(fs::absolute(options.dir).lexically_normal().string());
  fs::permissions(state.dir, fs::perms::owner_all, fs::perm_options::replace, error);
  FSC_ASSIGN_OR_RETURN(std::string coordinator_bin, FindSiblingBinary("fsc-coordinator"));
  FSC_ASSIGN_OR_RETURN(std::string worker_bin, FindSiblingBinary("fsc-worker"));

  FSC_ASSIGN_OR_RETURN(ClusterRecord record, ReadClusterRecord(state));
  bool coordinator_running = Running(state, "coordinator");
  if (coordinator_running && record.present) {
    if (options.port != 0 && options.port != record.port) {
      return absl::FailedPreconditionError(
          absl::StrCat("the local cluster in ", state.dir, " is already up on port ", record.port,
                       ", not ", options.port, ": 'fsc cluster down --dir ", state.dir, "' first"));
    }
    if (options.insecure != record.insecure) {
      return absl::FailedPreconditionError(
          absl::StrCat("the local cluster in ", state.dir, " is already up ",
                       record.insecure ? "without TLS (--insecure)" : "with TLS",
                       ": 'fsc cluster down --dir ", state.dir, "' first to switch"));
    }
  }
  if (!coordinator_running) {
    record.insecure = options.insecure;
    if (options.port != 0) {
      record.port = options.port;
    } else if (record.port == 0) {
      FSC_ASSIGN_OR_RETURN(record.port, PickFreePort());
    }
  }

  LocalClusterReport report;
  report.address = absl::StrCat("127.0.0.1:", record.port);
  report.config_path = state.config();

  rpc::LocalCerts certs;
  if (!record.insecure) {
    std::string certs_dir = state.certs();
    certs = rpc::LocalCerts{certs_dir + "/ca.pem",     certs_dir + "/ca.key",
                            certs_dir + "/server.pem", certs_dir + "/server.key",
                            certs_dir + "/worker.pem", certs_dir + "/worker.key"};
    bool have_all = fs::exists(certs.ca_cert) && fs::exists(certs.server_cert) &&
                    fs::exists(certs.server_key) && fs::exists(certs.client_cert) &&
                    fs::exists(certs.client_key);
    if (!have_all) {
      Say("generating a throwaway CA and certificates in " + certs_dir);
      FSC_ASSIGN_OR_RETURN(certs, rpc::GenerateLocalCerts(certs_dir));
    }
  }

  std::string user_token, join_token;
  FSC_RETURN_IF_ERROR(EnsureTokens(state, coordinator_bin, options.user, &user_token, &join_token));

  // The client config first, so that even a failed start leaves a config to debug with.
  rpc::ConnectOptions connect;
  connect.address = report.address;
  connect.token = user_token;
  connect.insecure = record.insecure;
  if (!record.insecure) connect.tls_ca = "certs/ca.pem";  // relative to config.json's folder
  FSC_RETURN_IF_ERROR(rpc::WriteClientConfig(state.config(), connect));
  if (!record.insecure) connect.tls_ca = certs.ca_cert;

  if (!coordinator_running) {
    std::vector<std::string> argv = {coordinator_bin, "--listen",   report.address, "--db",
                                     state.db(),      "--data-dir", state.data()};
    FSC_RETURN_IF_ERROR(AddMetricsFlags("coordinator", &record, &argv));
    if (record.insecure) {
      argv.push_back("--insecure");
    } else {
      argv.insert(argv.end(), {"--tls-cert", certs.server_cert, "--tls-key", certs.server_key,
                               "--tls-client-ca", certs.ca_cert});
    }
    if (options.lease_ttl_ms > 0) {
      // Workers must beat several times per lease.
      int64_t heartbeat_ms = std::max<int64_t>(10, options.lease_ttl_ms / 4);
      argv.insert(argv.end(), {"--lease-ttl-ms", std::to_string(options.lease_ttl_ms),
                               "--heartbeat-ms", std::to_string(heartbeat_ms)});
    }
    Say("starting fsc-coordinator on " + report.address + " (log: " + state.log("coordinator") +
        ")");
    FSC_RETURN_IF_ERROR(Start(state, "coordinator", argv));
    report.started.push_back("coordinator");
    FSC_RETURN_IF_ERROR(WriteClusterRecord(state, record));
  }
  // Answering before workers start means a worker never burns its start-up on retries.
  FSC_RETURN_IF_ERROR(AwaitCluster(state, connect, 0, options.start_timeout).status());

  int threads = options.threads_per_worker;
  if (threads <= 0) {
    int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    threads = std::max(1, cores / std::max(1, options.workers));
  }
  for (int i = 1; i <= options.workers; ++i) {
    std::string name = WorkerName(i);
    if (Running(state, name)) continue;
    std::string worker_dir = state.worker_dir(i);
    std::vector<std::string> argv = {worker_bin,
                                     "--coordinator",
                                     report.address,
                                     "--name",
                                     name,
                                     "--roles",
                                     "extract,convert,train",
                                     "--threads",
                                     std::to_string(threads),
                                     "--cache-dir",
                                     worker_dir + "/cache",
                                     "--work-dir",
                                     worker_dir + "/work"};
    if (record.insecure) {
      argv.push_back("--insecure");
    } else {
      argv.insert(argv.end(), {"--tls-ca", certs.ca_cert, "--tls-cert", certs.client_cert,
                               "--tls-key", certs.client_key});
    }
    FSC_RETURN_IF_ERROR(AddMetricsFlags(name, &record, &argv));
    Say("starting fsc-worker " + name + " (" + std::to_string(threads) +
        " threads, log: " + state.log(name) + ")");
    // The join token travels in the environment, out of sight of `ps`.
    FSC_RETURN_IF_ERROR(Start(state, name, argv, {"FSC_JOIN_TOKEN=" + join_token}));
    report.started.push_back(name);
  }
  FSC_RETURN_IF_ERROR(WriteClusterRecord(state, record));
  FSC_RETURN_IF_ERROR(WritePrometheusConfig(state, record, options.workers, &report));
  FSC_ASSIGN_OR_RETURN(report.workers_alive,
                       AwaitCluster(state, connect, options.workers, options.start_timeout));
  report.already_up = report.started.empty();
  return report;
}

absl::StatusOr<std::vector<std::string>> LocalClusterDown(const std::string& dir,
                                                          absl::Duration grace) {
  StatePaths state(fs::absolute(dir).lexically_normal().string());
  if (!fs::exists(state.dir)) {
    return absl::NotFoundError(
        absl::StrCat("no local cluster state in ", state.dir, " (wrong --dir?)"));
  }
  std::vector<std::string> stopped;
  // Workers first, in parallel, so that none is left retrying against a stopped coordinator.
  std::vector<LocalProcessInfo> processes = LocalClusterProcesses(dir);
  std::vector<std::thread> stoppers;
  std::vector<std::string> workers;
  for (const LocalProcessInfo& process : processes) {
    if (process.name == "coordinator") continue;
    PidRecord record;
    bool running = Running(state, process.name, &record);
    if (running) workers.push_back(process.name);
    stoppers.emplace_back([record, running, grace] {
      if (running) StopProcess(record, grace);
    });
  }
  for (std::thread& stopper : stoppers) stopper.join();
  for (const LocalProcessInfo& process : processes) {
    if (process.name != "coordinator") fs::remove(state.pid(process.name));
  }
  stopped = workers;
  PidRecord coordinator;
  if (Running(state, "coordinator", &coordinator)) {
    StopProcess(coordinator, grace);
    stopped.push_back("coordinator");
  }
  fs::remove(state.pid("coordinator"));
  return stopped;
}

std::vector<LocalProcessInfo> LocalClusterProcesses(const std::string& dir) {
  StatePaths state(fs::absolute(dir).lexically_normal().string());
  std::vector<LocalProcessInfo> out;
  std::error_code error;
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(state.Path("pids"), error)) {
    if (entry.path().extension() == ".pid") names.push_back(entry.path().stem().string());
  }
  // coordinator first, then workers by number.
  std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
    auto rank = [](const std::string& name) {
      int index = 0;
      if (name == "coordinator") return -1;
      if (name.rfind("worker-", 0) == 0 && absl::SimpleAtoi(name.substr(7), &index)) return index;
      return 1 << 20;
    };
    return rank(a) != rank(b) ? rank(a) < rank(b) : a < b;
  });
  for (const std::string& name : names) {
    LocalProcessInfo info;
    info.name = name;
    info.log_path = state.log(name);
    PidRecord record;
    info.running = Running(state, name, &record);
    info.pid = record.pid;
    out.push_back(info);
  }
  return out;
}

}  // namespace fsc::cli
