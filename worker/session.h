// A worker's connection to the coordinator's WorkerService: registration (and re-registration
// with the same worker id after a coordinator restart), the session token on every call, and
// retries with exponential backoff (0.2 s doubling to 5 s) for transient failures, so that a
// coordinator that is down or restarting only pauses the worker.
//
// Thread-safe: the heartbeat thread, the progress reporter and the task loop share one Session.
#ifndef FSC_WORKER_SESSION_H_
#define FSC_WORKER_SESSION_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/rpc/channel.h"
#include "proto/fsc.grpc.pb.h"

namespace fsc::worker {

struct SessionOptions {
  rpc::ConnectOptions connect;  // address and TLS; the token is the session's
  std::string join_token;
  std::string name;
  std::vector<proto::WorkerRole> roles;
  int cpu_threads = 1;
  std::vector<proto::GpuInfo> gpus;
  std::string data_plane_address;  // shown in `fsc cluster status`
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{5000};
  std::chrono::milliseconds call_timeout{30000};  // per attempt, for unary calls
};

// Exponential backoff: 0.2 s, 0.4 s, ... capped, reset on success.
class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max)
      : initial_(initial), max_(max), next_(initial) {}
  std::chrono::milliseconds Next();
  void Reset() { next_ = initial_; }

 private:
  std::chrono::milliseconds initial_, max_, next_;
};

class Session {
 public:
  static absl::StatusOr<std::unique_ptr<Session>> Create(SessionOptions options);

  // Registers (again, with the current worker id if there is one), retrying transient failures
  // until `stop` is set. UNAUTHENTICATED / PERMISSION_DENIED (a wrong join token) and other
  // permanent errors are returned at once.
  absl::Status Register(const std::atomic<bool>& stop);

  // Runs one WorkerService call with the session token. Transient failures are retried with
  // backoff until `stop` is set or `give_up_after` has passed (0: never); UNAUTHENTICATED (the
  // coordinator forgot the session) re-registers and retries. `call` gets a fresh context each
  // attempt and returns the grpc::Status of the stub call.
  using Call = std::function<grpc::Status(proto::WorkerService::Stub*, grpc::ClientContext*)>;
  absl::Status Run(const std::string& what, const Call& call, const std::atomic<bool>& stop,
                   std::chrono::milliseconds deadline,
                   std::chrono::milliseconds give_up_after = std::chrono::milliseconds(0));

  // One attempt, no retry (heartbeats and progress: the next one follows soon anyway).
  absl::Status Once(const std::string& what, const Call& call, std::chrono::milliseconds deadline);

  // Marks the registration stale (the coordinator said `reregister`); the next call re-registers.
  void Invalidate();

  std::string worker_id() const;
  std::string token() const;
  std::chrono::milliseconds heartbeat_interval() const;
  std::chrono::milliseconds lease_ttl() const;
  // Replaces the channel with a fresh one (at most every 2 s). A channel that lost its
  // coordinator can stay in gRPC's reconnect backoff (and keep failing handshakes) long after a
  // restarted coordinator listens again; a new channel connects at once.
  void Reconnect();
  const SessionOptions& options() const { return options_; }

 private:
  explicit Session(SessionOptions options) : options_(std::move(options)) {}
  absl::Status RegisterOnce();

  SessionOptions options_;
  std::shared_ptr<proto::WorkerService::Stub> Stub() const;

  rpc::ConnectOptions connect_;
  std::shared_ptr<proto::WorkerService::Stub> stub_ ABSL_GUARDED_BY(mu_);
  std::chrono::steady_clock::time_point last_reconnect_ ABSL_GUARDED_BY(mu_);
  absl::Mutex register_mu_;  // one registration at a time
  mutable absl::Mutex mu_;
  std::string worker_id_ ABSL_GUARDED_BY(mu_);
  std::string token_ ABSL_GUARDED_BY(mu_);
  bool registered_ ABSL_GUARDED_BY(mu_) = false;
  std::chrono::milliseconds heartbeat_interval_ ABSL_GUARDED_BY(mu_){5000};
  std::chrono::milliseconds lease_ttl_ ABSL_GUARDED_BY(mu_){30000};
};

// Sleeps up to `duration`, waking early when `stop` is set. Returns false when stopped.
bool SleepUnlessStopped(std::chrono::milliseconds duration, const std::atomic<bool>& stop);

// Time-stamped log line on stderr: "fsc-worker 12:34:56.789 <message>".
void Log(const std::string& message);

}  // namespace fsc::worker

#endif  // FSC_WORKER_SESSION_H_
