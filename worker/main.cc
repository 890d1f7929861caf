// fsc-worker: joins a cluster and runs its extract / convert / train tasks until SIGTERM/SIGINT.
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <limits>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/dist/recovery.h"
#include "core/metrics/gpu_memory.h"
#include "core/metrics/http_server.h"
#include "core/metrics/standard_metrics.h"
#include "core/rpc/channel.h"
#include "core/rpc/client_config.h"
#include "core/rpc/job_names.h"
#include "core/util/flags.h"
#include "core/util/limits.h"
#include "core/util/malloc_tuning.h"
#include "core/util/paths.h"
#include "core/util/stop_signal.h"
#include "worker/data_plane.h"
#include "worker/gpu_info.h"
#include "worker/private_dir.h"
#include "worker/session.h"
#include "worker/worker.h"

namespace {

namespace fs = std::filesystem;
using fsc::worker::Log;

absl::StatusOr<std::vector<fsc::proto::WorkerRole>> ParseRoles(const std::string& text) {
  std::vector<fsc::proto::WorkerRole> roles;
  for (absl::string_view word : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    const std::string role(absl::StripAsciiWhitespace(word));
    const google::protobuf::EnumDescriptor& roles_enum = *fsc::proto::WorkerRole_descriptor();
    std::optional<int> parsed = fsc::rpc::ParseEnumWord(roles_enum, role);
    if (!parsed) {
      return absl::InvalidArgumentError(
          absl::StrCat("--roles: unknown role '", role, "'; use ",
                       absl::StrJoin(fsc::rpc::EnumWords(roles_enum), ", ")));
    }
    const auto value = static_cast<fsc::proto::WorkerRole>(*parsed);
    if (std::find(roles.begin(), roles.end(), value) == roles.end()) roles.push_back(value);
  }
  if (roles.empty()) return absl::InvalidArgumentError("--roles is empty");
  return roles;
}

std::string Env(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

std::string HostName() {
  char buffer[256] = {0};
  if (gethostname(buffer, sizeof(buffer) - 1) != 0) return "worker";
  return buffer;
}

std::string DefaultCacheDir() {
  return (fs::path(Env("XDG_CACHE_HOME", Env("HOME", "/tmp") + "/.cache")) / "fsc" / "worker-blobs")
      .string();
}

// Exit status, as the --help text states it.
constexpr int kExitStopped = 0;
constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

// Prints `message` as fsc-worker's error and returns `exit_code`: how every stage below ends the
// process early (a stage returns std::nullopt to go on).
int Fail(int exit_code, absl::string_view message) {
  std::cerr << "fsc-worker: " << message << "\n";
  return exit_code;
}

// The command line as given, with its defaults.
struct Flags {
  fsc::rpc::ConnectFlags connect;
  std::string join_token;
  std::string roles = "extract,convert,train";
  std::string name = HostName();
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::string cache_dir = DefaultCacheDir();
  std::string work_dir;
  std::string models_dir = fsc::util::DefaultModelsDir();
  int lease_wait_ms = 10000;
  int max_tasks = 0;
  bool keep_task_dirs = false;
  fsc::metrics::MetricsFlags metrics;
  std::string data_plane_address;
  double collective_timeout_s = 30;
  std::string elastic_recovery = "memory";
  int rendezvous_poll_ms = 250;
};

// Stage 1: the flags (--help, a bad value or a stray argument end here).
std::optional<int> ParseFlags(int argc, char** argv, Flags* f) {
  fsc::util::FlagSet flags(
      "fsc-worker", "--coordinator HOST:PORT --join-token TOKEN [options]",
      "Joins an fsc cluster and runs the tasks of its roles in-process: extract over frame\n"
      "ranges, merging alignments, training, converting frame ranges, joining video segments.\n"
      "Inputs are fetched into a content-addressed cache; outputs are uploaded when a task\n"
      "succeeds.\n"
      "Reconnects by itself when the coordinator restarts. SIGTERM/Ctrl-C: the current task is\n"
      "stopped and handed back (retryable), then the worker exits.\n"
      "Exit status: 0 stopped, 1 error (e.g. a refused join token), 2 usage.");
  fsc::rpc::AddConnectFlags(&flags, &f->connect, /*with_token=*/false);
  flags.String("join-token", 0, &f->join_token, "the cluster join token (else $FSC_JOIN_TOKEN)");
  flags.String("roles", 0, &f->roles, "comma-separated roles: extract, convert, train");
  flags.String("name", 0, &f->name, "name shown in `fsc cluster status` (default: host name)");
  flags.Int("threads", 'j', &f->threads, "CPU threads a task may use", {1, fsc::util::kMaxThreads});
  flags.String("cache-dir", 0, &f->cache_dir,
               "blob cache, kept across runs (in a folder others may write to: a private "
               "fsc-cache-UID folder inside)");
  flags.String("work-dir", 0, &f->work_dir,
               "task folders; a folder others may write to (e.g. /tmp) gets a private one inside "
               "(default: a new private folder under the system temp dir)");
  flags.String("models-dir", 0, &f->models_dir, "pretrained face models");
  flags.Int("lease-wait-ms", 0, &f->lease_wait_ms,
            "how long a request for a task waits on the coordinator for one to be queued",
            {fsc::util::kMinLeaseWaitMs, fsc::util::kMaxLeaseWaitMs});
  flags.Int("max-tasks", 0, &f->max_tasks, "exit after this many tasks (0: run until stopped)",
            {0, std::numeric_limits<int>::max()});
  flags.Bool("keep-task-dirs", 0, &f->keep_task_dirs, "keep task folders after they end (debug)");
  fsc::metrics::AddMetricsFlags(&flags, &f->metrics);
  flags.String("data-plane-address", 0, &f->data_plane_address,
               "IP address the training data plane (Gloo) binds (default: this host's address "
               "toward the coordinator)");
  flags.Double("collective-timeout", 0, &f->collective_timeout_s,
               "seconds a training collective (an all-reduce, one chunk of a state transfer) may "
               "go without progress before the group re-forms (doubled per failed generation)",
               {0.1, 86400});
  flags.String("elastic-recovery", 0, &f->elastic_recovery,
               "how training ranks recover from a lost member: memory (roll back in memory, "
               "move state only to ranks that lack it) or restart (every rank reloads the disk "
               "checkpoint, TorchElastic-style; for comparison)");
  flags.Int("rendezvous-poll-ms", 0, &f->rendezvous_poll_ms,
            "how often a training rank checks the group's membership", {10, 60000});
  const std::vector<std::string> args(argv + 1, argv + argc);
  std::vector<std::string> positional;
  if (auto exit_code = flags.ParseOrExit(args, &positional)) return exit_code;
  if (!positional.empty()) {
    return Fail(kExitUsage, absl::StrCat("unexpected argument '", positional[0],
                                         "' (see 'fsc-worker --help')"));
  }
  return std::nullopt;
}

// Stage 2: who joins which coordinator: the join token, the roles, the address and TLS.
std::optional<int> ResolveSession(const Flags& flags, fsc::worker::SessionOptions* session) {
  session->join_token = flags.join_token.empty() ? Env("FSC_JOIN_TOKEN", "") : flags.join_token;
  if (absl::Status token =
          fsc::rpc::CheckTokenText(session->join_token, "--join-token/$FSC_JOIN_TOKEN");
      !token.ok()) {
    return Fail(kExitUsage, token.message());
  }
  auto roles = ParseRoles(flags.roles);
  if (!roles.ok()) return Fail(kExitUsage, roles.status().message());
  auto connect = fsc::rpc::ResolveConnectOptions(flags.connect);
  if (!connect.ok()) return Fail(kExitUsage, connect.status().message());
  session->connect = *connect;
  session->name = flags.name;
  session->roles = *roles;
  session->cpu_threads = flags.threads;
  return std::nullopt;
}

// Stage 3: task files and cached inputs go where no other user can plant or swap them. The
// default work folder is always a new one: the worker removes it when it stops.
std::optional<int> MakePrivateFolders(const Flags& flags, fsc::worker::WorkerOptions* options) {
  auto work = flags.work_dir.empty()
                  ? fsc::worker::NewPrivateDir(fs::temp_directory_path().string())
                  : fsc::worker::PrivateDir(flags.work_dir);
  auto cache = fsc::worker::PrivateDir(flags.cache_dir, absl::StrCat("fsc-cache-", geteuid()));
  for (const auto* dir : {&work, &cache}) {
    if (!dir->ok()) return Fail(kExitError, dir->status().message());
  }
  options->tasks.work_dir = *work;
  options->tasks.cache_dir = *cache;
  return std::nullopt;
}

// Stage 4: /metrics before joining, so that a taken port fails before the worker takes a task.
std::optional<int> ServeMetrics(const fsc::metrics::MetricsFlags& flags) {
  // Never destroyed, like the worker: its threads may still answer while the process exits.
  auto* server = new fsc::metrics::MetricsServer();
  if (absl::Status started = fsc::metrics::StartMetrics(flags, server); !started.ok()) {
    return Fail(absl::IsInvalidArgument(started) ? kExitUsage : kExitError,
                absl::StrCat("--metrics-port: ", started.message()));
  }
  if (server->running()) Log("metrics at " + server->url());
  return std::nullopt;
}

// Stage 5: how training ranks recover, and the address their data plane binds.
std::optional<int> ResolveTraining(const Flags& flags, fsc::worker::WorkerOptions* options) {
  const absl::StatusOr<fsc::dist::Recovery> recovery =
      fsc::dist::ParseRecovery(flags.elastic_recovery);
  if (!recovery.ok()) {
    return Fail(kExitUsage, absl::StrCat("--elastic-recovery: ", recovery.status().message()));
  }
  options->tasks.elastic_recovery = *recovery;
  options->tasks.data_plane_address = flags.data_plane_address;
  if (flags.data_plane_address.empty()) {
    // The coordinator's name may not resolve yet (a starting cluster): then each training task
    // looks again (task_runner.cc).
    auto local = fsc::worker::LocalAddressToward(options->session.connect.address);
    if (local.ok()) {
      options->tasks.data_plane_address = *local;
    } else {
      Log(absl::StrCat("no route toward the coordinator yet (", local.status().message(),
                       "); the data plane address is looked up again for each training task"));
    }
  } else if (absl::Status bindable = fsc::worker::CheckBindable(flags.data_plane_address);
             !bindable.ok()) {
    return Fail(kExitUsage, absl::StrCat("--data-plane-address: ", bindable.message()));
  }
  options->session.data_plane_address = options->tasks.data_plane_address;
  return std::nullopt;
}

// Stage 6: the rest of the worker's settings, and the GPUs it offers (exported as metrics).
void FillWorkerOptions(const Flags& flags, fsc::worker::WorkerOptions* options) {
  options->session.gpus = fsc::worker::DetectGpus();
  std::vector<int> gpu_indices;
  for (const auto& gpu : options->session.gpus) gpu_indices.push_back(gpu.index());
  fsc::metrics::ExportGpuMemory(gpu_indices);
  options->tasks.models_dir = flags.models_dir;
  options->tasks.threads = flags.threads;
  options->lease_wait = std::chrono::milliseconds(flags.lease_wait_ms);
  options->tasks.keep_task_dirs = flags.keep_task_dirs;
  options->max_tasks = flags.max_tasks;
  options->tasks.collective_timeout_s = flags.collective_timeout_s;
  options->tasks.rendezvous_poll = std::chrono::milliseconds(flags.rendezvous_poll_ms);
}

// Stage 7: joins and runs tasks until SIGTERM/SIGINT, --max-tasks or a permanent error, then
// removes the work folder if it is empty. `roles` is the --roles text, for the log.
int RunUntilStopped(const fsc::worker::WorkerOptions& options, const std::string& roles) {
  // SIGTERM/SIGINT ask the worker to stop from a thread of ours (core/util/stop_signal.h).
  if (absl::Status installed = fsc::util::InstallStopSignalHandlers(); !installed.ok()) {
    return Fail(kExitError, installed.message());
  }
  // Never destroyed: the detached signal thread may still reach it while the process exits.
  auto& worker = *new fsc::worker::Worker(options);
  std::thread([&worker] {
    const int signal = fsc::util::WaitForStopSignal();
    Log(absl::StrCat("got ", signal == SIGINT ? "SIGINT" : "SIGTERM",
                     ": stopping (the current task is handed back)"));
    worker.Stop();
  }).detach();

  const fsc::worker::SessionOptions& session = options.session;
  Log(absl::StrCat("worker '", session.name, "' (", roles, ", ", options.tasks.threads,
                   " threads, ", session.gpus.size(), " GPUs, data plane ",
                   options.tasks.data_plane_address.empty() ? "looked up per task"
                                                            : options.tasks.data_plane_address,
                   ") joining ", session.connect.address,
                   session.connect.insecure ? " without TLS" : " over TLS"));
  absl::Status status = worker.Run();
  // Only when empty: each task's folder is removed when the task ends.
  std::error_code ec;
  if (!options.tasks.keep_task_dirs) fs::remove(options.tasks.work_dir, ec);
  if (!status.ok()) return Fail(kExitError, status.message());
  Log("stopped");
  return kExitStopped;
}

int Main(int argc, char** argv) {
  Flags flags;
  if (auto exit_code = ParseFlags(argc, argv, &flags)) return *exit_code;
  fsc::worker::WorkerOptions options;
  if (auto exit_code = ResolveSession(flags, &options.session)) return *exit_code;
  if (auto exit_code = MakePrivateFolders(flags, &options)) return *exit_code;
  if (auto exit_code = ServeMetrics(flags.metrics)) return *exit_code;
  if (auto exit_code = ResolveTraining(flags, &options)) return *exit_code;
  FillWorkerOptions(flags, &options);
  return RunUntilStopped(options, flags.roles);
}

}  // namespace

int main(int argc, char** argv) {
  fsc::util::KeepFreedMemoryForReuse();
  return Main(argc, argv);
}
