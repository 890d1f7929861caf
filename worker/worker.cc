// fsc-worker's lease loop and heartbeat thread.
#include "worker/worker.h"

#include "absl/strings/str_cat.h"
#include "core/rpc/version.h"

namespace fsc::worker {

using std::chrono::milliseconds;

// One heartbeat attempt: the next heartbeat follows within the session's interval anyway.
constexpr milliseconds kHeartbeatDeadline(5000);
// A LeaseTask call long-polls for up to options_.lease_wait; it gets this much more before it
// counts as lost (the coordinator answers at the end of its wait, plus network time).
constexpr milliseconds kLeaseDeadlineMargin(15000);

Worker::Worker(WorkerOptions options) : options_(std::move(options)) {}

Worker::~Worker() {
  Stop();
  if (heartbeat_.joinable()) heartbeat_.join();
}

void Worker::Stop() {
  stop_ = true;
  absl::MutexLock lock(&mu_);
  if (lease_call_ != nullptr) lease_call_->TryCancel();
}

void Worker::HeartbeatLoop() {
  bool failing = false;
  while (SleepUnlessStopped(session_->heartbeat_interval(), stop_)) {
    proto::HeartbeatRequest request;
    request.set_version(rpc::kClusterProtoVersion);
    request.set_worker_id(session_->worker_id());
    for (const std::string& id : runner_->HeldTasks()) request.add_task_ids(id);
    proto::HeartbeatResponse response;
    absl::Status status = session_->Once(
        "Heartbeat",
        [&](proto::WorkerService::Stub* stub, grpc::ClientContext* context) {
          return stub->Heartbeat(context, request, &response);
        },
        kHeartbeatDeadline);
    if (status.code() == absl::StatusCode::kUnauthenticated ||
        (status.ok() && response.reregister()) ||
        (!status.ok() && status.message().find("not registered") != std::string::npos)) {
      // The coordinator lost this worker (restarted without its session, or declared it dead):
      // register again with the same id, then heartbeat the held task at once.
      Log("the coordinator asks this worker to register again");
      session_->Invalidate();
      absl::Status registered = session_->Register(stop_);
      if (!registered.ok()) Log(absl::StrCat("re-registering failed: ", registered.message()));
      continue;
    }
    if (!status.ok()) {
      if (!failing) Log(absl::StrCat(status.message(), "; heartbeats continue"));
      failing = true;
      continue;
    }
    if (failing) Log("heartbeats reach the coordinator again");
    failing = false;
    for (const std::string& id : response.cancel_task_ids()) runner_->Cancel(id);
  }
}

absl::Status Worker::Run() {
  auto session = Session::Create(options_.session);
  if (!session.ok()) return session.status();
  session_ = *std::move(session);
  runner_ = std::make_unique<TaskRunner>(options_.tasks, session_.get(), &stop_);

  absl::Status registered = session_->Register(stop_);
  if (!registered.ok()) return stop_ ? absl::OkStatus() : registered;
  heartbeat_ = std::thread([this] { HeartbeatLoop(); });

  absl::Status result;
  int64_t tasks = 0;
  while (!stop_) {
    proto::LeaseTaskRequest request;
    request.set_version(rpc::kClusterProtoVersion);
    request.set_wait_ms(options_.lease_wait.count());
    proto::LeaseTaskResponse response;
    absl::Status status = session_->Run(
        "LeaseTask",
        [&](proto::WorkerService::Stub* stub, grpc::ClientContext* context) {
          request.set_worker_id(session_->worker_id());
          {
            absl::MutexLock lock(&mu_);
            if (stop_) return grpc::Status(grpc::StatusCode::CANCELLED, "stopping");
            lease_call_ = context;
          }
          grpc::Status s = stub->LeaseTask(context, request, &response);
          absl::MutexLock lock(&mu_);
          lease_call_ = nullptr;
          return s;
        },
        stop_, options_.lease_wait + kLeaseDeadlineMargin);
    if (stop_) break;
    if (!status.ok()) {
      // A permanent refusal (a newer protocol, a revoked worker): nothing to retry.
      result = status;
      break;
    }
    if (!response.has_task()) continue;
    const proto::Task& task = response.task();
    absl::Status executed = runner_->Execute(task);
    if (!executed.ok()) Log(absl::StrCat("task ", task.id(), ": ", executed.message()));
    ++tasks;
    if (options_.max_tasks > 0 && tasks >= options_.max_tasks) break;
  }
  stop_ = true;
  if (heartbeat_.joinable()) heartbeat_.join();
  return result;
}

}  // namespace fsc::worker
