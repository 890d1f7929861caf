// fsc logs [-f] ID: a job's log, state and progress events; -f follows them live until the job
// ends (a progress bar with rate and ETA on a terminal, plain lines otherwise).
#include <iostream>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/client_common.h"
#include "cli/commands.h"
#include "core/rpc/version.h"
#include "core/util/flags.h"

namespace fsc::cli {

int RunLogsCommand(const Args& args) {
  rpc::ConnectFlags connect;
  bool follow = false, json = false;
  util::FlagSet flags(
      "fsc logs", "[-f] ID [connection flags]",
      "Prints a job's events: log lines of its tasks and its state changes. With -f it keeps\n"
      "following (with a live progress bar on a terminal) and exits when the job ends: 0 when\n"
      "it succeeded, 1 when it failed or was cancelled. It rides out coordinator restarts.");
  rpc::AddConnectFlags(&flags, &connect);
  flags.Bool("follow", 'f', &follow, "follow the job until it ends");
  flags.Bool("json", 0, &json, "print the events as JSON lines (without -f: those so far)");
  std::vector<std::string> positional;
  if (auto exit_code = flags.ParseOrExit(args, &positional)) return *exit_code;
  if (positional.size() != 1) {
    std::cerr << "fsc logs: needs one job ID (see 'fsc jobs')\n";
    return 2;
  }
  auto client = Connect(connect);
  if (!client.ok()) return Fail("logs", client.status());
  auto id = ResolveJobId(*client, positional[0]);
  if (!id.ok()) return Fail("logs", id.status());

  if (follow && !json) {
    FollowOptions options;
    auto job = FollowJob(*client, *id, options);
    if (!job.ok()) return Fail("logs", job.status());
    if (job->state() != proto::JOB_SUCCEEDED) {
      std::cerr << "fsc logs: job " << job->id() << " " << JobStateName(job->state())
                << (job->error().empty() ? "" : ": " + job->error()) << "\n";
      return 1;
    }
    return 0;
  }

  proto::StreamJobEventsRequest request;
  request.set_version(rpc::kClusterProtoVersion);
  request.set_job_id(*id);
  request.set_follow(follow);
  auto context = client->Context(follow ? absl::InfiniteDuration() : absl::Seconds(60));
  auto reader = client->stub->StreamJobEvents(context.get(), request);
  proto::JobEvent event;
  proto::JobState last_state = proto::JOB_STATE_UNSPECIFIED;
  // Progress events come several times a second per task; print a line per 10 % step of each.
  std::map<std::string, int> shown_step;
  while (reader->Read(&event)) {
    if (event.kind() == proto::JobEvent::STATE) last_state = event.state();
    if (json) {
      std::cout << ToJson(event, /*pretty=*/false) << "\n" << std::flush;
      continue;
    }
    std::string task =
        event.task_id().empty() ? "" : " [" + ShortTaskId(*id, event.task_id()) + "]";
    std::string when = FormatUnixMs(event.unix_ms());
    switch (event.kind()) {
      case proto::JobEvent::LOG:
        std::cout << when << task << " " << event.message() << "\n";
        break;
      case proto::JobEvent::STATE:
        std::cout << when << " job " << JobStateName(event.state()) << StateDetail(event) << "\n";
        break;
      case proto::JobEvent::PROGRESS: {
        int step = static_cast<int>(event.progress() * 10);
        auto [it, inserted] = shown_step.emplace(event.task_id(), step);
        if (!inserted && it->second == step) break;
        it->second = step;
        std::cout << when << task << absl::StrFormat(" progress %.0f%%", event.progress() * 100)
                  << (event.rate() > 0 ? absl::StrFormat(" %.1f %s/s", event.rate(), event.unit())
                                       : "")
                  << "\n";
        break;
      }
      default:
        break;
    }
  }
  grpc::Status status = reader->Finish();
  if (!status.ok())
    return Fail("logs", RpcError(status, "StreamJobEvents " + *id, client->options));
  if (follow) return last_state == proto::JOB_SUCCEEDED ? 0 : 1;
  return 0;
}

}  // namespace fsc::cli
