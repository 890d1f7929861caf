// Connection, error wording, names, JSON and job following for the fsc client verbs.
#include "cli/client_common.h"

#include <google/protobuf/util/json_util.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <iostream>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/rpc/version.h"
#include "core/util/status_macros.h"

namespace fsc::cli {
namespace {

std::string ClockNow() {
  std::time_t now = std::time(nullptr);
  char text[16];
  std::strftime(text, sizeof(text), "%H:%M:%S", std::localtime(&now));
  return text;
}

std::string ShortId(const std::string& id) { return id.substr(0, 8); }

// The live view of a followed job: log lines as they come, and a progress bar (terminal) or a
// periodic progress line (pipes, logs).
class JobProgressView {
 public:
  JobProgressView(std::FILE* log_out, bool show_logs)
      : log_out_(log_out), show_logs_(show_logs), terminal_(isatty(fileno(stderr)) != 0) {}

  void Handle(const proto::JobEvent& event) {
    switch (event.kind()) {
      case proto::JobEvent::LOG:
        if (show_logs_) {
          std::string task = event.task_id().empty()
                                 ? ""
                                 : " [" + ShortTaskId(event.job_id(), event.task_id()) + "]";
          Line(absl::StrCat(ClockNow(), task, " ", event.message()));
        }
        break;
      case proto::JobEvent::STATE:
        Line(absl::StrCat(ClockNow(), " job ", ShortId(event.job_id()), " ",
                          JobStateName(event.state()), StateDetail(event)));
        break;
      case proto::JobEvent::PROGRESS:
      default:
        break;
    }
    if (event.progress() > 0 || event.kind() == proto::JobEvent::PROGRESS) {
      Progress(event.task_id(), event.progress(), event.rate(), event.unit());
    }
  }

  // A note from the client itself (lost connection, reconnected).
  void Note(const std::string& text) { Line(absl::StrCat(ClockNow(), " ", text)); }

  void Finish() {
    if (terminal_ && bar_drawn_) {
      Draw();
      std::fputs("\n", stderr);
      bar_drawn_ = false;
    }
    std::fflush(stderr);
  }

 private:
  void Line(const std::string& text) {
    if (terminal_ && bar_drawn_) std::fputs("\r\x1b[K", stderr);
    std::fprintf(log_out_, "%s\n", text.c_str());
    // A follower is a live log: each line reaches a pipe or file as it happens, not 4 KB later.
    std::fflush(log_out_);
    std::fflush(log_out_);
    if (terminal_ && bar_drawn_) Draw();
  }

  void Progress(const std::string& task_id, double progress, double rate, const std::string& unit) {
    absl::Time now = absl::Now();
    if (!seen_progress_) {
      seen_progress_ = true;
      first_time_ = now;
      first_progress_ = progress;
    }
    progress_ = std::clamp(progress, 0.0, 1.0);
    // Tasks run side by side on several workers: the job's rate is the sum of the latest rates
    // of the tasks (of the current unit) that reported in the last few seconds.
    if (rate > 0) {
      if (unit != unit_) task_rates_.clear();
      unit_ = unit;
      task_rates_[task_id] = {rate, now};
    }
    rate_ = 0;
    for (auto it = task_rates_.begin(); it != task_rates_.end();) {
      if (now - it->second.second > absl::Seconds(3)) {
        it = task_rates_.erase(it);
      } else {
        rate_ += it->second.first;
        ++it;
      }
    }
    double interval = terminal_ ? 0.1 : 5.0;
    if (now - last_draw_ < absl::Seconds(interval) && progress_ < 1.0) return;
    // In a log, a line per 1 % of progress at most, and one every 30 s while it creeps.
    if (!terminal_ && progress_ - last_logged_ < 0.01 && now - last_draw_ < absl::Seconds(30) &&
        progress_ < 1.0) {
      return;
    }
    last_draw_ = now;
    last_logged_ = progress_;
    if (terminal_) {
      Draw();
      bar_drawn_ = true;
    } else {
      std::fprintf(stderr, "%s %s\n", ClockNow().c_str(), Text(false).c_str());
      std::fflush(stderr);
    }
  }

  std::string Text(bool bar) const {
    std::string text = "progress ";
    if (bar) {
      const int width = 30;
      int filled = static_cast<int>(progress_ * width);
      text += "[" + std::string(filled, '#') + std::string(width - filled, '.') + "] ";
    }
    absl::StrAppend(&text, absl::StrFormat("%3.0f%%", progress_ * 100));
    if (rate_ > 0) {
      absl::StrAppend(&text, absl::StrFormat(" %.1f %s/s", rate_, unit_.empty() ? "it" : unit_));
    }
    double elapsed = absl::ToDoubleSeconds(absl::Now() - first_time_);
    double gained = progress_ - first_progress_;
    if (gained > 0 && elapsed > 0 && progress_ < 1.0) {
      double eta = (1.0 - progress_) * elapsed / gained;
      absl::StrAppend(&text, " ETA ", HumanDuration(absl::Seconds(eta)));
    }
    return text;
  }

  void Draw() {
    std::fprintf(stderr, "\r%s\x1b[K", Text(true).c_str());
    std::fflush(stderr);
  }

  std::FILE* log_out_;
  bool show_logs_;
  bool terminal_;
  bool bar_drawn_ = false;
  bool seen_progress_ = false;
  absl::Time first_time_;
  double first_progress_ = 0;
  double progress_ = 0;
  double last_logged_ = -1;
  double rate_ = 0;
  std::string unit_;
  std::map<std::string, std::pair<double, absl::Time>> task_rates_;  // task -> (rate, when)
  absl::Time last_draw_ = absl::InfinitePast();
};

}  // namespace

std::unique_ptr<grpc::ClientContext> Client::Context(absl::Duration timeout) const {
  auto context = std::make_unique<grpc::ClientContext>();
  rpc::AddAuth(context.get(), options.token);
  if (timeout != absl::InfiniteDuration()) {
    context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  }
  return context;
}

absl::StatusOr<Client> Connect(const rpc::ConnectFlags& flags) {
  Client client;
  FSC_ASSIGN_OR_RETURN(client.options, rpc::ResolveConnectOptions(flags));
  FSC_ASSIGN_OR_RETURN(client.channel, rpc::MakeChannel(client.options));
  client.stub = proto::ClientService::NewStub(client.channel);
  return client;
}

absl::Status RpcError(const grpc::Status& status, const std::string& what,
                      const rpc::ConnectOptions& options) {
  if (status.ok()) return absl::OkStatus();
  const std::string& server = status.error_message();
  const std::string& address = options.address;
  std::string message;
  switch (status.error_code()) {
    case grpc::StatusCode::UNAUTHENTICATED:
      if (options.token.empty()) {
        message = absl::StrCat(
            "the coordinator at ", address,
            " refused the call: no token was given. Set FSC_TOKEN "
            "or pass --token (a user token from 'fsc-coordinator token create'), or set "
            "FSC_CONFIG to the config.json that 'fsc cluster up' printed (",
            server, ")");
      } else {
        message = absl::StrCat(
            "the coordinator at ", address,
            " refused the token: set FSC_TOKEN or --token to a "
            "valid user token ('fsc-coordinator token create --db DB --user NAME' makes one), or "
            "set FSC_CONFIG to the config.json that 'fsc cluster up' printed (",
            server, ")");
      }
      break;
    case grpc::StatusCode::PERMISSION_DENIED:
      message = absl::StrCat(what, ": not allowed for this token: ", server);
      break;
    case grpc::StatusCode::UNAVAILABLE:
      message = absl::StrCat(
          "cannot reach the coordinator at ", address, " (", server,
          "). Is it running ('fsc "
          "cluster status', 'fsc cluster up --local')? ",
          options.insecure ? "It was called without TLS (--insecure); a TLS coordinator needs "
                             "--tls-ca instead."
                           : "With TLS, --tls-ca must name the CA that signed its certificate; "
                             "a plaintext coordinator needs --insecure.");
      break;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      message = absl::StrCat(what, ": the coordinator at ", address, " did not answer in time (",
                             server, ")");
      break;
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::ALREADY_EXISTS:
      message = absl::StrCat(what, ": ", server);
      break;
    default:
      message = absl::StrCat(what, " failed (gRPC code ", static_cast<int>(status.error_code()),
                             "): ", server);
  }
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), message);
}

int Fail(const std::string& verb, const absl::Status& status) {
  std::cerr << "fsc " << verb << ": " << status.message() << "\n";
  return 1;
}

std::optional<proto::JobState> ParseJobState(const std::string& name) {
  if (absl::AsciiStrToLower(name) == "canceled") return proto::JOB_CANCELLED;
  std::optional<int> state = rpc::ParseEnumWord(*proto::JobState_descriptor(), name);
  if (!state) return std::nullopt;
  return static_cast<proto::JobState>(*state);
}

std::string ShortTaskId(const std::string& job_id, const std::string& task_id) {
  if (!job_id.empty() && task_id.size() > job_id.size() + 1 &&
      task_id.rfind(job_id + "-", 0) == 0) {
    return task_id.substr(job_id.size() + 1);
  }
  return task_id.substr(0, 12);
}

std::string StateDetail(const proto::JobEvent& event) {
  std::string message = event.message();
  const std::string repeated = "job " + JobStateName(event.state());
  if (message.rfind(repeated + ": ", 0) == 0) message = message.substr(repeated.size() + 2);
  if (message.empty() || message == repeated) return "";
  return ": " + message;
}

bool IsFinal(proto::JobState state) {
  return state == proto::JOB_SUCCEEDED || state == proto::JOB_FAILED ||
         state == proto::JOB_CANCELLED;
}

std::string ToJson(const google::protobuf::Message& message, bool pretty) {
  google::protobuf::util::JsonPrintOptions print;
  print.add_whitespace = pretty;
  print.always_print_primitive_fields = true;
  print.preserve_proto_field_names = true;
  std::string out;
  auto status = google::protobuf::util::MessageToJsonString(message, &out, print);
  if (!status.ok()) return "{}";
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::string HumanBytes(int64_t bytes) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1000 && unit < 4) {
    value /= 1000;
    ++unit;
  }
  return unit == 0 ? absl::StrCat(bytes, " B") : absl::StrFormat("%.1f %s", value, units[unit]);
}

std::string HumanDuration(absl::Duration duration) {
  int64_t s = absl::ToInt64Seconds(duration + absl::Milliseconds(500));
  if (s < 0) s = 0;
  if (s >= 3600) return absl::StrFormat("%dh%02dm", s / 3600, (s / 60) % 60);
  if (s >= 60) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  return absl::StrFormat("%ds", s);
}

std::string FormatUnixMs(int64_t unix_ms) {
  if (unix_ms <= 0) return "-";
  std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S", std::localtime(&seconds));
  return text;
}

absl::StatusOr<proto::Job> GetJob(const Client& client, const std::string& job_id) {
  proto::GetJobRequest request;
  request.set_job_id(job_id);
  return Call(client, &proto::ClientService::Stub::GetJob, request, "GetJob " + job_id);
}

absl::StatusOr<std::string> ResolveJobId(const Client& client, const std::string& id_or_prefix) {
  if (id_or_prefix.empty()) return absl::InvalidArgumentError("empty job id");
  absl::StatusOr<proto::Job> job = GetJob(client, id_or_prefix);
  if (job.ok()) return job->id();
  if (job.status().code() != absl::StatusCode::kNotFound) return job.status();
  FSC_ASSIGN_OR_RETURN(
      proto::ListJobsResponse response,
      Call(client, &proto::ClientService::Stub::ListJobs, proto::ListJobsRequest(), "ListJobs"));
  std::vector<std::string> matches;
  for (const proto::Job& candidate : response.jobs()) {
    if (candidate.id().rfind(id_or_prefix, 0) == 0) matches.push_back(candidate.id());
  }
  if (matches.size() == 1) return matches[0];
  if (matches.empty()) {
    return absl::NotFoundError(
        absl::StrCat("no job '", id_or_prefix, "' among your jobs ('fsc jobs' lists them)"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("'", id_or_prefix, "' matches ", matches.size(), " jobs: give more of the id"));
}

absl::StatusOr<proto::Job> FollowJob(const Client& client, const std::string& job_id,
                                     const FollowOptions& options) {
  JobProgressView view(options.log_out, options.show_logs);
  // After a lost connection the stream is retried on a fresh channel: one whose connection
  // failed waits out gRPC's reconnect backoff (up to 20 s) before it notices a restarted server.
  Client current{client.options, client.channel, nullptr};
  current.stub = proto::ClientService::NewStub(current.channel);
  int64_t after_sequence = 0;
  absl::Time failing_since = absl::InfiniteFuture();
  bool reported_loss = false;
  for (;;) {
    proto::StreamJobEventsRequest request;
    request.set_version(rpc::kClusterProtoVersion);
    request.set_job_id(job_id);
    request.set_after_sequence(after_sequence);
    request.set_follow(true);
    auto context = current.Context(absl::InfiniteDuration());
    auto reader = current.stub->StreamJobEvents(context.get(), request);
    proto::JobEvent event;
    bool ended = false;
    while (reader->Read(&event)) {
      if (reported_loss) {
        view.Note("reconnected to the coordinator");
        reported_loss = false;
      }
      failing_since = absl::InfiniteFuture();
      after_sequence = std::max(after_sequence, event.sequence());
      view.Handle(event);
      if (event.kind() == proto::JobEvent::STATE && IsFinal(event.state())) ended = true;
    }
    grpc::Status status = reader->Finish();
    if (ended || status.ok()) {
      // The stream closes when the job ends; confirm, since a coordinator shutting down may
      // also close it cleanly.
      absl::StatusOr<proto::Job> job = GetJob(current, job_id);
      if (job.ok() && IsFinal(job->state())) {
        view.Finish();
        return job;
      }
      if (!job.ok() && !rpc::IsTransient(job.status())) {
        view.Finish();
        return job.status();
      }
    } else {
      absl::Status error = RpcError(status, "StreamJobEvents " + job_id, client.options);
      if (!rpc::IsTransient(error)) {
        view.Finish();
        return error;
      }
    }
    absl::Time now = absl::Now();
    if (failing_since == absl::InfiniteFuture()) failing_since = now;
    if (now - failing_since > options.reconnect_for) {
      view.Finish();
      return absl::UnavailableError(absl::StrCat(
          "lost the coordinator at ", client.options.address, " for more than ",
          HumanDuration(options.reconnect_for), " while following job ", job_id,
          "; the job may still be running: 'fsc logs -f ", job_id, "' picks it up again"));
    }
    if (!reported_loss && status.error_code() == grpc::StatusCode::UNAVAILABLE) {
      view.Note("lost the coordinator; reconnecting ...");
      reported_loss = true;
    }
    absl::SleepFor(absl::Seconds(1));
    auto fresh = rpc::MakeChannel(client.options);
    if (fresh.ok()) {
      current.channel = *fresh;
      current.stub = proto::ClientService::NewStub(current.channel);
    }
  }
}

}  // namespace fsc::cli
