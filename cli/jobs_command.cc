// fsc jobs / fsc job ID / fsc cancel ID: listing, inspecting and cancelling your jobs.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/client_common.h"
#include "cli/commands.h"
#include "core/rpc/version.h"
#include "core/util/flags.h"

namespace fsc::cli {
namespace {

std::string JobDuration(const proto::Job& job) {
  if (job.started_unix_ms() <= 0) return "-";
  int64_t end =
      job.finished_unix_ms() > 0 ? job.finished_unix_ms() : absl::ToUnixMillis(absl::Now());
  return HumanDuration(absl::Milliseconds(end - job.started_unix_ms()));
}

void PrintJob(const proto::Job& job) {
  std::cout << "job:       " << job.id() << "\n"
            << "kind:      " << JobKindName(job.spec().kind()) << "\n"
            << "name:      " << (job.spec().name().empty() ? "-" : job.spec().name()) << "\n"
            << "owner:     " << job.owner() << "\n"
            << "state:     " << JobStateName(job.state()) << "\n"
            << "progress:  " << absl::StrFormat("%.0f%%", job.progress() * 100) << "\n"
            << "priority:  " << job.spec().priority() << "\n"
            << "created:   " << FormatUnixMs(job.created_unix_ms()) << "\n"
            << "started:   " << FormatUnixMs(job.started_unix_ms()) << "\n"
            << "finished:  " << FormatUnixMs(job.finished_unix_ms()) << "\n"
            << "duration:  " << JobDuration(job) << "\n";
  if (!job.error().empty()) std::cout << "error:     " << job.error() << "\n";
  std::cout << "tasks:     " << job.tasks_size() << "\n";
  if (job.tasks_size() > 0) {
    std::cout << absl::StrFormat("  %-10s %-17s %-10s %-13s %-8s %-10s %-5s %s\n", "TASK", "KIND",
                                 "STATE", "FRAMES", "ATTEMPT", "WORKER", "DONE", "ERROR");
  }
  for (const proto::Task& task : job.tasks()) {
    std::string frames = task.frame_end() > task.frame_begin()
                             ? absl::StrCat(task.frame_begin(), "-", task.frame_end())
                             : "-";
    std::string attempt = task.max_attempts() > 0
                              ? absl::StrCat(task.attempt(), "/", task.max_attempts())
                              : absl::StrCat(task.attempt());
    std::cout << absl::StrFormat("  %-10s %-17s %-10s %-13s %-8s %-10s %4.0f%% %s\n",
                                 ShortTaskId(job.id(), task.id()), TaskKindName(task.kind()),
                                 TaskStateName(task.state()), frames, attempt,
                                 task.worker_id().empty() ? "-" : task.worker_id().substr(0, 8),
                                 task.progress() * 100, task.error());
  }
  if (job.artifacts_size() > 0) {
    std::cout << "artifacts: " << job.artifacts_size() << " (fsc fetch " << job.id()
              << " -o DIR)\n";
    int shown = 0;
    for (const proto::FileEntry& file : job.artifacts()) {
      if (++shown > 20) {
        std::cout << "  ... " << job.artifacts_size() - 20 << " more (--json lists all)\n";
        break;
      }
      std::cout << absl::StrFormat("  %-40s %10s\n", file.path(), HumanBytes(file.size()));
    }
  }
}

}  // namespace

int RunJobsCommand(const Args& args) {
  rpc::ConnectFlags connect;
  std::string state_name;
  int limit = 0;
  bool json = false;
  util::FlagSet flags("fsc jobs", "[--state S] [--json] [connection flags]",
                      "Lists your jobs on the coordinator, newest first.");
  rpc::AddConnectFlags(&flags, &connect);
  flags.String("state", 0, &state_name,
               "only jobs in this state: queued, running, succeeded, failed, cancelled");
  flags.Int("limit", 'n', &limit, "at most this many jobs (0: all)", {0, 1000000});
  flags.Bool("json", 0, &json, "print the jobs as JSON");
  std::vector<std::string> positional;
  if (auto exit_code = flags.ParseOrExit(args, &positional)) return *exit_code;
  if (!positional.empty()) {
    std::cerr << "fsc jobs: unexpected argument '" << positional[0]
              << "' (to see one job: fsc job ID)\n";
    return 2;
  }
  proto::ListJobsRequest request;
  request.set_limit(limit);
  if (!state_name.empty()) {
    auto state = ParseJobState(state_name);
    if (!state) {
      std::cerr << "fsc jobs: unknown --state '" << state_name
                << "' (queued, running, succeeded, failed, cancelled)\n";
      return 2;
    }
    request.set_state(*state);
  }
  auto client = Connect(connect);
  if (!client.ok()) return Fail("jobs", client.status());
  absl::StatusOr<proto::ListJobsResponse> listed =
      Call(*client, &proto::ClientService::Stub::ListJobs, request, "ListJobs");
  if (!listed.ok()) return Fail("jobs", listed.status());
  const proto::ListJobsResponse& response = *listed;
  if (json) {
    std::cout << ToJson(response) << "\n";
    return 0;
  }
  if (response.jobs_size() == 0) {
    std::cout << "no jobs" << (state_name.empty() ? "" : " in state " + state_name) << "\n";
    return 0;
  }
  std::cout << absl::StrFormat("%-36s %-8s %-10s %5s %-19s %-9s %s\n", "JOB", "KIND", "STATE",
                               "DONE", "CREATED", "DURATION", "NAME");
  for (const proto::Job& job : response.jobs()) {
    std::cout << absl::StrFormat("%-36s %-8s %-10s %4.0f%% %-19s %-9s %s\n", job.id(),
                                 JobKindName(job.spec().kind()), JobStateName(job.state()),
                                 job.progress() * 100, FormatUnixMs(job.created_unix_ms()),
                                 JobDuration(job), job.spec().name());
  }
  return 0;
}

int RunJobCommand(const Args& args) {
  rpc::ConnectFlags connect;
  bool json = false;
  util::FlagSet flags(
      "fsc job", "ID [--json] [connection flags]",
      "Shows one of your jobs: state, progress, its tasks (frame ranges, attempts,\n"
      "workers) and its artifacts. ID may be a unique prefix.");
  rpc::AddConnectFlags(&flags, &connect);
  flags.Bool("json", 0, &json, "print the job as JSON");
  std::vector<std::string> positional;
  if (auto exit_code = flags.ParseOrExit(args, &positional)) return *exit_code;
  if (positional.size() != 1) {
    std::cerr << "fsc job: needs one job ID (see 'fsc jobs')\n";
    return 2;
  }
  auto client = Connect(connect);
  if (!client.ok()) return Fail("job", client.status());
  auto id = ResolveJobId(*client, positional[0]);
  if (!id.ok()) return Fail("job", id.status());
  auto job = GetJob(*client, *id);
  if (!job.ok()) return Fail("job", job.status());
  if (json) {
    std::cout << ToJson(*job) << "\n";
  } else {
    PrintJob(*job);
  }
  return 0;
}

int RunCancelCommand(const Args& args) {
  rpc::ConnectFlags connect;
  bool json = false;
  util::FlagSet flags("fsc cancel", "ID [connection flags]",
                      "Cancels one of your jobs: queued tasks will not run, running ones are\n"
                      "stopped by their workers. Cancelling a job that already ended is an error.");
  rpc::AddConnectFlags(&flags, &connect);
  flags.Bool("json", 0, &json, "print the cancelled job as JSON");
  std::vector<std::string> positional;
  if (auto exit_code = flags.ParseOrExit(args, &positional)) return *exit_code;
  if (positional.size() != 1) {
    std::cerr << "fsc cancel: needs one job ID (see 'fsc jobs')\n";
    return 2;
  }
  auto client = Connect(connect);
  if (!client.ok()) return Fail("cancel", client.status());
  auto id = ResolveJobId(*client, positional[0]);
  if (!id.ok()) return Fail("cancel", id.status());
  proto::CancelJobRequest request;
  request.set_job_id(*id);
  absl::StatusOr<proto::Job> cancelled =
      Call(*client, &proto::ClientService::Stub::CancelJob, request, "CancelJob " + *id);
  if (!cancelled.ok()) return Fail("cancel", cancelled.status());
  const proto::Job& job = *cancelled;
  if (json) {
    std::cout << ToJson(job) << "\n";
  } else {
    std::cout << "job " << job.id() << ": " << JobStateName(job.state()) << "\n";
  }
  return 0;
}

}  // namespace fsc::cli
