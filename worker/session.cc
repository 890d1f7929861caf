// Registration, authenticated calls and retry/backoff for fsc-worker.
#include "worker/session.h"

#include <ctime>
#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/rpc/version.h"

namespace fsc::worker {

void Log(const std::string& message) {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  int ms = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  std::tm tm;
  gmtime_r(&t, &tm);
  // One write per line so that lines of different threads do not interleave.
  std::cerr << absl::StrFormat("fsc-worker %02d:%02d:%02d.%03d %s\n", tm.tm_hour, tm.tm_min,
                               tm.tm_sec, ms, message);
}

bool SleepUnlessStopped(std::chrono::milliseconds duration, const std::atomic<bool>& stop) {
  auto until = std::chrono::steady_clock::now() + duration;
  while (!stop.load()) {
    auto now = std::chrono::steady_clock::now();
    if (now >= until) return true;
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(until - now, std::chrono::milliseconds(50)));
  }
  return false;
}

std::chrono::milliseconds Backoff::Next() {
  std::chrono::milliseconds current = next_;
  next_ = std::min(max_, next_ * 2);
  return current;
}

absl::StatusOr<std::unique_ptr<Session>> Session::Create(SessionOptions options) {
  if (options.join_token.empty()) {
    return absl::InvalidArgumentError(
        "no join token: pass --join-token or set FSC_JOIN_TOKEN (`fsc-coordinator join-token "
        "create --db DB` prints one)");
  }
  if (options.roles.empty()) {
    return absl::InvalidArgumentError("no roles: pass --roles extract,convert,train (any of them)");
  }
  std::unique_ptr<Session> session(new Session(std::move(options)));
  session->connect_ = session->options_.connect;
  session->connect_.token.clear();
  auto channel = rpc::MakeChannel(session->connect_);
  if (!channel.ok()) return channel.status();
  absl::MutexLock lock(&session->mu_);
  session->stub_ = proto::WorkerService::NewStub(*channel);
  session->last_reconnect_ = std::chrono::steady_clock::now();
  return session;
}

std::shared_ptr<proto::WorkerService::Stub> Session::Stub() const {
  absl::MutexLock lock(&mu_);
  return stub_;
}

void Session::Reconnect() {
  auto now = std::chrono::steady_clock::now();
  {
    absl::MutexLock lock(&mu_);
    if (now - last_reconnect_ < std::chrono::seconds(2)) return;
    last_reconnect_ = now;
  }
  auto channel = rpc::MakeChannel(connect_);  // validated in Create: cannot fail now
  if (!channel.ok()) return;
  auto stub = std::shared_ptr<proto::WorkerService::Stub>(proto::WorkerService::NewStub(*channel));
  absl::MutexLock lock(&mu_);
  stub_ = std::move(stub);
}

absl::Status Session::RegisterOnce() {
  proto::RegisterRequest request;
  request.set_version(rpc::kClusterProtoVersion);
  request.set_join_token(options_.join_token);
  request.set_name(options_.name);
  for (proto::WorkerRole role : options_.roles) request.add_roles(role);
  request.set_cpu_threads(options_.cpu_threads);
  request.set_address(options_.data_plane_address);
  for (const proto::GpuInfo& gpu : options_.gpus) *request.add_gpus() = gpu;
  request.set_worker_id(worker_id());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + options_.call_timeout);
  proto::RegisterResponse response;
  grpc::Status status = Stub()->Register(&context, request, &response);
  if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
      status.error_code() == grpc::StatusCode::PERMISSION_DENIED) {
    // The coordinator says which credential failed (the join token, or the client certificate
    // mTLS requires) and what to do: pass it on as it is.
    return absl::Status(
        static_cast<absl::StatusCode>(status.error_code()),
        absl::StrCat("the coordinator refused to register this worker: ", status.error_message()));
  }
  if (!status.ok()) return rpc::FromGrpc(status, "Register");
  if (response.worker_id().empty() || response.session_token().empty()) {
    return absl::InternalError("Register: the coordinator sent no worker id or session token");
  }
  absl::MutexLock lock(&mu_);
  worker_id_ = response.worker_id();
  token_ = response.session_token();
  if (response.heartbeat_interval_ms() > 0) {
    heartbeat_interval_ = std::chrono::milliseconds(response.heartbeat_interval_ms());
  }
  if (response.lease_ttl_ms() > 0) lease_ttl_ = std::chrono::milliseconds(response.lease_ttl_ms());
  registered_ = true;
  return absl::OkStatus();
}

absl::Status Session::Register(const std::atomic<bool>& stop) {
  absl::MutexLock register_lock(&register_mu_);
  {
    absl::MutexLock lock(&mu_);
    if (registered_) return absl::OkStatus();  // another thread just did it
  }
  Backoff backoff(options_.initial_backoff, options_.max_backoff);
  bool logged = false;
  while (true) {
    absl::Status status = RegisterOnce();
    if (status.ok()) {
      Log(absl::StrCat("registered with ", options_.connect.address, " as worker ", worker_id(),
                       logged ? " (after retrying)" : ""));
      return status;
    }
    if (!rpc::IsTransient(status)) return status;
    if (status.code() == absl::StatusCode::kUnavailable) Reconnect();
    if (!logged) {
      Log(absl::StrCat(status.message(), "; retrying with backoff"));
      logged = true;
    }
    if (!SleepUnlessStopped(backoff.Next(), stop)) return status;
  }
}

void Session::Invalidate() {
  absl::MutexLock lock(&mu_);
  registered_ = false;
}

absl::Status Session::Once(const std::string& what, const Call& call,
                           std::chrono::milliseconds deadline) {
  {
    absl::MutexLock lock(&mu_);
    if (!registered_) return absl::UnavailableError(what + ": not registered");
  }
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + deadline);
  rpc::AddAuth(&context, token());
  std::shared_ptr<proto::WorkerService::Stub> stub = Stub();
  absl::Status status = rpc::FromGrpc(call(stub.get(), &context), what);
  if (status.code() == absl::StatusCode::kUnauthenticated) Invalidate();
  if (status.code() == absl::StatusCode::kUnavailable) Reconnect();
  return status;
}

absl::Status Session::Run(const std::string& what, const Call& call, const std::atomic<bool>& stop,
                          std::chrono::milliseconds deadline,
                          std::chrono::milliseconds give_up_after) {
  Backoff backoff(options_.initial_backoff, options_.max_backoff);
  const auto start = std::chrono::steady_clock::now();
  int unauthenticated = 0;
  bool logged = false;
  absl::Status status;
  while (true) {
    bool registered;
    {
      absl::MutexLock lock(&mu_);
      registered = registered_;
    }
    if (!registered) {
      status = Register(stop);
      if (!status.ok()) return status;
    }
    status = Once(what, call, deadline);
    if (status.ok()) {
      if (logged) Log(what + ": the coordinator answers again");
      return status;
    }
    if (status.code() == absl::StatusCode::kUnauthenticated) {
      // The coordinator forgot this session (restarted without it, or expired it): register
      // again with the same worker id. A token that stays refused is a real error.
      if (++unauthenticated > 3) return status;
    } else if (!rpc::IsTransient(status)) {
      return status;
    }
    if (!logged) {
      Log(absl::StrCat(status.message(), "; retrying with backoff"));
      logged = true;
    }
    if (give_up_after.count() > 0 && std::chrono::steady_clock::now() - start > give_up_after) {
      return status;
    }
    if (!SleepUnlessStopped(backoff.Next(), stop)) return status;
  }
}

std::string Session::worker_id() const {
  absl::MutexLock lock(&mu_);
  return worker_id_;
}
std::string Session::token() const {
  absl::MutexLock lock(&mu_);
  return token_;
}
std::chrono::milliseconds Session::heartbeat_interval() const {
  absl::MutexLock lock(&mu_);
  return heartbeat_interval_;
}
std::chrono::milliseconds Session::lease_ttl() const {
  absl::MutexLock lock(&mu_);
  return lease_ttl_;
}

}  // namespace fsc::worker
