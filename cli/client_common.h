// Shared pieces of the fsc verbs that talk to a coordinator (submit, jobs, job, logs, cancel,
// dataset, fetch, cluster status): connecting with the flags / environment / config file,
// turning gRPC errors into messages that say what to do, names of states and kinds, JSON output,
// and following a job's event stream with a progress display.
#ifndef FSC_CLI_CLIENT_COMMON_H_
#define FSC_CLI_CLIENT_COMMON_H_

#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/rpc/channel.h"
#include "core/rpc/client_config.h"
#include "core/rpc/job_names.h"
#include "core/rpc/version.h"
#include "proto/fsc.grpc.pb.h"

namespace google::protobuf {
class Message;
}

namespace fsc::cli {

// A connection to the coordinator's ClientService.
struct Client {
  rpc::ConnectOptions options;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<proto::ClientService::Stub> stub;

  // A context carrying the bearer token and, unless `timeout` is infinite, a deadline.
  std::unique_ptr<grpc::ClientContext> Context(absl::Duration timeout = absl::Seconds(30)) const;
};

// Resolves flags > environment > config file and builds the channel (does not connect yet).
absl::StatusOr<Client> Connect(const rpc::ConnectFlags& flags);

// A gRPC failure of `what` ("ListJobs") as an absl::Status whose message tells the user what to
// do: a refused token, an unreachable coordinator, TLS trouble, a missing job.
absl::Status RpcError(const grpc::Status& status, const std::string& what,
                      const rpc::ConnectOptions& options);

// Calls the unary ClientService `method` (e.g. &proto::ClientService::Stub::GetJob) with
// `request`, its version set here, under client.Context(timeout): the response, or the failure
// as RpcError tells it, naming `what` ("GetJob <id>").
template <typename Request, typename Response>
absl::StatusOr<Response> Call(const Client& client,
                              grpc::Status (proto::ClientService::Stub::*method)(
                                  grpc::ClientContext*, const Request&, Response*),
                              Request request, const std::string& what,
                              absl::Duration timeout = absl::Seconds(30)) {
  request.set_version(rpc::kClusterProtoVersion);
  Response response;
  std::unique_ptr<grpc::ClientContext> context = client.Context(timeout);
  grpc::Status status = (client.stub.get()->*method)(context.get(), request, &response);
  if (!status.ok()) return RpcError(status, what, client.options);
  return response;
}

// Prints "fsc VERB: message" to stderr and returns the exit code 1.
int Fail(const std::string& verb, const absl::Status& status);

// Lowercase names as users type them: "queued", "running", "succeeded", "failed", "cancelled";
// "extract", "convert", "train", "swap"; task kinds "extract", "merge-alignments", ...
// (core/rpc/job_names.h derives them from fsc.proto).
using rpc::JobKindName;
using rpc::JobStateName;
using rpc::TaskKindName;
using rpc::TaskStateName;
// A job state's word, or the American "canceled"; nullopt for anything else.
std::optional<proto::JobState> ParseJobState(const std::string& name);
bool IsFinal(proto::JobState state);
// A task id for tables and log lines: "t0003" for "<job id>-t0003", else the id's first 12 chars.
std::string ShortTaskId(const std::string& job_id, const std::string& task_id);
// ": message" of a STATE event, or "" when the message only repeats the state.
std::string StateDetail(const proto::JobEvent& event);

// A message as JSON (proto3 JSON mapping, default values included, field names as in the
// .proto file so they match what scripts read from other fsc verbs).
std::string ToJson(const google::protobuf::Message& message, bool pretty = true);

// "12.4 MB" style sizes and "2m05s" style durations for tables.
std::string HumanBytes(int64_t bytes);
std::string HumanDuration(absl::Duration duration);
// A millisecond Unix time as local "YYYY-MM-DD HH:MM:SS" ("-" for 0).
std::string FormatUnixMs(int64_t unix_ms);

// Follows a job's events until it ends. Log and state lines go to `log_out`; on a terminal a
// progress bar (job %, the reporting task's rate, ETA) is redrawn on stderr, otherwise a plain
// progress line is printed every few seconds. Survives coordinator restarts: when the stream
// breaks with a transient error it reconnects and resumes after the last event seen, for up to
// `reconnect_for` of continuous failure. Returns the job as it ended.
struct FollowOptions {
  std::FILE* log_out = stdout;
  bool show_logs = true;
  absl::Duration reconnect_for = absl::Minutes(2);
};
absl::StatusOr<proto::Job> FollowJob(const Client& client, const std::string& job_id,
                                     const FollowOptions& options);

// GetJob with the error already made readable.
absl::StatusOr<proto::Job> GetJob(const Client& client, const std::string& job_id);

// A job id typed by the user: a full id, or a unique prefix of one of the user's jobs' ids.
absl::StatusOr<std::string> ResolveJobId(const Client& client, const std::string& id_or_prefix);

}  // namespace fsc::cli

#endif  // FSC_CLI_CLIENT_COMMON_H_
