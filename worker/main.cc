// fsc-worker: joins a cluster and runs its extract / convert / train tasks until SIGTERM/SIGINT.
#include <pthread.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <limits>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/dist/recovery.h"
#include "core/metrics/gpu_memory.h"
#include "core/metrics/http_server.h"
#include "core/metrics/standard_metrics.h"
#include "core/rpc/channel.h"
#include "core/rpc/client_config.h"
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
    std::string role = absl::AsciiStrToLower(absl::StripAsciiWhitespace(word));
    fsc::proto::WorkerRole value;
    if (role == "extract") {
      value = fsc::proto::ROLE_EXTRACT;
    } else if (role == "convert") {
      value = fsc::proto::ROLE_CONVERT;
    } else if (role == "train") {
      value = fsc::proto::ROLE_TRAIN;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("--roles: unknown role '", role, "'; use extract, convert, train"));
    }
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

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  fsc::rpc::ConnectFlags connect;
  std::string join_token, roles_text = "extract,convert,train", name = HostName();
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::string cache_dir =
      (fs::path(Env("XDG_CACHE_HOME", Env("HOME", "/tmp") + "/.cache")) / "fsc" / "worker-blobs")
          .string();
  std::string work_dir;
  std::string models_dir = fsc::util::DefaultModelsDir();
  int lease_wait_ms = 10000, max_tasks = 0;
  bool keep_task_dirs = false;
  std::string data_plane_address;
  double collective_timeout_s = 30;
  std::string elastic_recovery = "memory";
  int rendezvous_poll_ms = 250;

  fsc::util::FlagSet flags(
      "fsc-worker", "--coordinator HOST:PORT --join-token TOKEN [options]",
      "Joins an fsc cluster and runs the tasks of its roles in-process: extract over frame\n"
      "ranges, merging alignments, training, converting frame ranges, joining video segments.\n"
      "Inputs are fetched into a content-addressed cache; outputs are uploaded when a task\n"
      "succeeds.\n"
      "Reconnects by itself when the coordinator restarts. SIGTERM/Ctrl-C: the current task is\n"
      "stopped and handed back (retryable), then the worker exits.\n"
      "Exit status: 0 stopped, 1 error (e.g. a refused join token), 2 usage.");
  fsc::rpc::AddConnectFlags(&flags, &connect, /*with_token=*/false);
  flags.String("join-token", 0, &join_token, "the cluster join token (else $FSC_JOIN_TOKEN)");
  flags.String("roles", 0, &roles_text, "comma-separated roles: extract, convert, train");
  flags.String("name", 0, &name, "name shown in `fsc cluster status` (default: host name)");
  flags.Int("threads", 'j', &threads, "CPU threads a task may use", {1, fsc::util::kMaxThreads});
  flags.String("cache-dir", 0, &cache_dir,
               "blob cache, kept across runs (in a folder others may write to: a private "
               "fsc-cache-UID folder inside)");
  flags.String("work-dir", 0, &work_dir,
               "task folders; a folder others may write to (e.g. /tmp) gets a private one inside "
               "(default: a new private folder under the system temp dir)");
  flags.String("models-dir", 0, &models_dir, "pretrained face models");
  flags.Int("lease-wait-ms", 0, &lease_wait_ms, "long-poll length when asking for a task",
            {0, 600000});
  flags.Int("max-tasks", 0, &max_tasks, "exit after this many tasks (0: run until stopped)",
            {0, std::numeric_limits<int>::max()});
  flags.Bool("keep-task-dirs", 0, &keep_task_dirs, "keep task folders after they end (debug)");
  fsc::metrics::MetricsFlags metrics_flags;
  fsc::metrics::AddMetricsFlags(&flags, &metrics_flags);
  flags.String("data-plane-address", 0, &data_plane_address,
               "IP address the training data plane (Gloo) binds (default: this host's address "
               "toward the coordinator)");
  flags.Double("collective-timeout", 0, &collective_timeout_s,
               "seconds a training collective (an all-reduce, one chunk of a state transfer) may "
               "go without progress before the group re-forms (doubled per failed generation)",
               {0.1, 86400});
  flags.String("elastic-recovery", 0, &elastic_recovery,
               "how training ranks recover from a lost member: memory (roll back in memory, "
               "move state only to ranks that lack it) or restart (every rank reloads the disk "
               "checkpoint, TorchElastic-style; for comparison)");
  flags.Int("rendezvous-poll-ms", 0, &rendezvous_poll_ms,
            "how often a training rank checks the group's membership", {10, 60000});
  std::vector<std::string> positional;
  if (auto exit_code = flags.ParseOrExit(args, &positional)) return *exit_code;
  if (!positional.empty()) {
    std::cerr << "fsc-worker: unexpected argument '" << positional[0]
              << "' (see 'fsc-worker --help')\n";
    return 2;
  }
  if (join_token.empty()) join_token = Env("FSC_JOIN_TOKEN", "");
  if (absl::Status token = fsc::rpc::CheckTokenText(join_token, "--join-token/$FSC_JOIN_TOKEN");
      !token.ok()) {
    std::cerr << "fsc-worker: " << token.message() << "\n";
    return 2;
  }
  auto roles = ParseRoles(roles_text);
  if (!roles.ok()) {
    std::cerr << "fsc-worker: " << roles.status().message() << "\n";
    return 2;
  }
  auto options = fsc::rpc::ResolveConnectOptions(connect);
  if (!options.ok()) {
    std::cerr << "fsc-worker: " << options.status().message() << "\n";
    return 2;
  }
  // Task files and cached inputs go where no other user can plant or swap them.
  // The default is always a new folder: the worker removes it when it stops.
  auto private_work = work_dir.empty()
                          ? fsc::worker::NewPrivateDir(fs::temp_directory_path().string())
                          : fsc::worker::PrivateDir(work_dir);
  auto private_cache = fsc::worker::PrivateDir(cache_dir, absl::StrCat("fsc-cache-", geteuid()));
  for (const auto* dir : {&private_work, &private_cache}) {
    if (!dir->ok()) {
      std::cerr << "fsc-worker: " << dir->status().message() << "\n";
      return 1;
    }
  }
  work_dir = *private_work;
  cache_dir = *private_cache;

  // Metrics before joining, so that a taken port fails before the worker takes a task. Never
  // destroyed, like the worker: its threads may still answer while the process exits.
  auto* metrics_server = new fsc::metrics::MetricsServer();
  if (absl::Status started = fsc::metrics::StartMetrics(metrics_flags, metrics_server);
      !started.ok()) {
    std::cerr << "fsc-worker: --metrics-port: " << started.message() << "\n";
    return absl::IsInvalidArgument(started) ? 2 : 1;
  }
  if (metrics_server->running()) Log("metrics at " + metrics_server->url());
  const absl::StatusOr<fsc::dist::Recovery> recovery = fsc::dist::ParseRecovery(elastic_recovery);
  if (!recovery.ok()) {
    std::cerr << "fsc-worker: --elastic-recovery: " << recovery.status().message() << "\n";
    return 2;
  }
  if (data_plane_address.empty()) {
    // The coordinator's name may not resolve yet (a starting cluster): then each training task
    // looks again (task_runner.cc).
    auto local = fsc::worker::LocalAddressToward(options->address);
    if (local.ok()) {
      data_plane_address = *local;
    } else {
      Log(absl::StrCat("no route toward the coordinator yet (", local.status().message(),
                       "); the data plane address is looked up again for each training task"));
    }
  } else if (absl::Status bindable = fsc::worker::CheckBindable(data_plane_address);
             !bindable.ok()) {
    std::cerr << "fsc-worker: --data-plane-address: " << bindable.message() << "\n";
    return 2;
  }

  fsc::worker::WorkerOptions worker_options;
  fsc::worker::SessionOptions& session = worker_options.session;
  session.connect = *options;
  session.join_token = join_token;
  session.name = name;
  session.roles = *roles;
  session.cpu_threads = threads;
  session.gpus = fsc::worker::DetectGpus();
  std::vector<int> gpu_indices;
  for (const auto& gpu : session.gpus) gpu_indices.push_back(gpu.index());
  fsc::metrics::ExportGpuMemory(gpu_indices);
  worker_options.cache_dir = cache_dir;
  worker_options.work_dir = work_dir;
  worker_options.models_dir = models_dir;
  worker_options.threads = threads;
  worker_options.lease_wait = std::chrono::milliseconds(std::max(100, lease_wait_ms));
  worker_options.keep_task_dirs = keep_task_dirs;
  worker_options.max_tasks = max_tasks;
  worker_options.data_plane_address = data_plane_address;
  worker_options.collective_timeout_s = collective_timeout_s;
  worker_options.elastic_recovery = *recovery;
  worker_options.rendezvous_poll = std::chrono::milliseconds(rendezvous_poll_ms);
  session.data_plane_address = data_plane_address;

  // SIGTERM/SIGINT ask the worker to stop from a thread of ours (core/util/stop_signal.h).
  if (absl::Status installed = fsc::util::InstallStopSignalHandlers(); !installed.ok()) {
    std::cerr << "fsc-worker: " << installed.message() << "\n";
    return 1;
  }
  // Never destroyed: the detached signal thread may still reach it while the process exits.
  auto& worker = *new fsc::worker::Worker(worker_options);
  std::thread([&worker] {
    const int signal = fsc::util::WaitForStopSignal();
    Log(absl::StrCat("got ", signal == SIGINT ? "SIGINT" : "SIGTERM",
                     ": stopping (the current task is handed back)"));
    worker.Stop();
  }).detach();

  Log(absl::StrCat(
      "worker '", name, "' (", roles_text, ", ", threads, " threads, ", session.gpus.size(),
      " GPUs, data plane ", data_plane_address.empty() ? "looked up per task" : data_plane_address,
      ") joining ", options->address, options->insecure ? " without TLS" : " over TLS"));
  absl::Status status = worker.Run();
  std::error_code ec;
  if (!keep_task_dirs) fs::remove(work_dir, ec);  // only when empty: task folders are removed
  if (!status.ok()) {
    std::cerr << "fsc-worker: " << status.message() << "\n";
    return 1;
  }
  Log("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  fsc::util::KeepFreedMemoryForReuse();
  return Main(argc, argv);
}
