// GroupDirectory and KeyValueStore over the coordinator's RendezvousService.
#include "worker/rendezvous_client.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/rpc/channel.h"
#include "core/rpc/version.h"

namespace fsc::worker {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// KvGet long-polls this long at most, so that an abandoned generation or a cancelled task is
// noticed between polls.
constexpr milliseconds kKvPoll{2000};
// Extra time a call gets on top of the time the server may wait.
constexpr milliseconds kCallSlack{10000};

void Prepare(grpc::ClientContext* context, const std::string& token, milliseconds deadline) {
  rpc::AddAuth(context, token);
  context->set_deadline(std::chrono::system_clock::now() + deadline);
}

bool Transient(const absl::Status& status) {
  // UNAUTHENTICATED: the coordinator restarted and the worker's heartbeat thread is registering
  // again; the next call carries the new token.
  return rpc::IsTransient(status) || status.code() == absl::StatusCode::kUnauthenticated;
}

class CoordinatorStore final : public dist::KeyValueStore {
 public:
  CoordinatorStore(CoordinatorGroupDirectory* directory, int64_t id)
      : directory_(directory), id_(id) {}

  absl::Status Set(const std::string& key, const std::string& value) override {
    proto::KvSetRequest request;
    request.set_version(rpc::kClusterProtoVersion);
    request.set_job_id(directory_->options().job_id);
    request.set_generation(id_);
    request.set_key(key);
    request.set_value(value);
    const auto give_up = Clock::now() + directory_->options().unreachable_timeout;
    while (true) {
      grpc::ClientContext context;
      Prepare(&context, directory_->options().token(), kCallSlack);
      proto::KvSetResponse response;
      absl::Status status =
          rpc::FromGrpc(directory_->stub()->KvSet(&context, request, &response), "KvSet");
      if (status.ok() || !Transient(status)) return Map(status);
      if (Clock::now() >= give_up) return absl::UnavailableError(status.message());
      if (directory_->cancelled()) return absl::CancelledError("the task is stopping");
      std::this_thread::sleep_for(directory_->options().poll);
    }
  }

  absl::StatusOr<std::vector<std::string>> Get(const std::vector<std::string>& keys,
                                               absl::Duration timeout) override {
    proto::KvGetRequest request;
    request.set_version(rpc::kClusterProtoVersion);
    request.set_job_id(directory_->options().job_id);
    request.set_generation(id_);
    for (const std::string& key : keys) request.add_keys(key);
    const auto deadline = Clock::now() + absl::ToChronoMilliseconds(timeout);
    auto reachable = Clock::now();
    absl::Status last;
    while (true) {
      if (directory_->cancelled()) return absl::CancelledError("the task is stopping");
      if (directory_->latest() > id_) {
        return absl::AbortedError(absl::StrCat("rendezvous generation ", id_,
                                               " is over (generation ", directory_->latest(),
                                               " exists)"));
      }
      const auto now = Clock::now();
      if (now >= deadline) {
        return absl::DeadlineExceededError(
            absl::StrCat("rendezvous keys of generation ", id_, " not set in time",
                         last.ok() ? "" : absl::StrCat(": ", last.message())));
      }
      const milliseconds wait = std::min(
          kKvPoll, std::chrono::duration_cast<milliseconds>(deadline - now) + milliseconds(1));
      request.set_wait_ms(wait.count());
      grpc::ClientContext context;
      Prepare(&context, directory_->options().token(), wait + kCallSlack);
      proto::KvGetResponse response;
      absl::Status status =
          rpc::FromGrpc(directory_->stub()->KvGet(&context, request, &response), "KvGet");
      if (status.ok()) {
        if (response.values_size() != static_cast<int>(keys.size())) {
          return absl::InternalError("KvGet answered a different number of values");
        }
        return std::vector<std::string>(response.values().begin(), response.values().end());
      }
      last = status;
      if (status.code() == absl::StatusCode::kDeadlineExceeded) {
        reachable = Clock::now();
        continue;  // not set yet (or the call's own deadline): poll again
      }
      if (!Transient(status)) return Map(status);
      if (Clock::now() - reachable >= directory_->options().unreachable_timeout) {
        return absl::UnavailableError(status.message());
      }
      std::this_thread::sleep_for(directory_->options().poll);
    }
  }

 private:
  // This worker lost its slot (PERMISSION_DENIED): the generation is over for it.
  static absl::Status Map(const absl::Status& status) {
    if (status.code() == absl::StatusCode::kPermissionDenied) {
      return absl::AbortedError(status.message());
    }
    return status;
  }

  CoordinatorGroupDirectory* directory_;
  int64_t id_;
};

}  // namespace

CoordinatorGroupDirectory::CoordinatorGroupDirectory(RendezvousClientOptions options)
    : options_(std::move(options)), stub_(proto::RendezvousService::NewStub(options_.channel)) {
  poller_ = std::thread([this] { PollLoop(); });
}

CoordinatorGroupDirectory::~CoordinatorGroupDirectory() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  poller_.join();
}

absl::StatusOr<proto::Membership> CoordinatorGroupDirectory::Membership(int64_t broken) {
  proto::MembershipRequest request;
  request.set_version(rpc::kClusterProtoVersion);
  request.set_job_id(options_.job_id);
  request.set_broken_generation(std::max<int64_t>(0, broken));
  request.set_worker_id(options_.worker_id());
  grpc::ClientContext context;
  Prepare(&context, options_.token(), kCallSlack);
  proto::Membership membership;
  absl::Status status =
      rpc::FromGrpc(stub_->GetMembership(&context, request, &membership), "GetMembership");
  if (!status.ok()) return status;
  int64_t seen = latest_.load();
  while (membership.generation() > seen &&
         !latest_.compare_exchange_weak(seen, membership.generation())) {
  }
  return membership;
}

void CoordinatorGroupDirectory::PollLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    wake_.wait_for(lock, options_.poll, [&] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    (void)Membership();  // errors: Next() reports them; Changed() keeps the last value
    lock.lock();
  }
}

absl::StatusOr<dist::Generation> CoordinatorGroupDirectory::Next(int64_t after) {
  auto reachable = Clock::now();
  while (true) {
    if (cancelled()) return absl::CancelledError("the task is stopping");
    absl::StatusOr<proto::Membership> membership = Membership(after);
    if (membership.ok()) {
      reachable = Clock::now();
      if (membership->generation() > after && membership->rank() >= 0 &&
          membership->world_size() > 0) {
        dist::Generation generation;
        generation.id = membership->generation();
        generation.rank = membership->rank();
        generation.world_size = membership->world_size();
        generation.members.assign(membership->worker_ids().begin(), membership->worker_ids().end());
        return generation;
      }
    } else if (membership.status().code() == absl::StatusCode::kPermissionDenied) {
      return absl::CancelledError(absl::StrCat("this worker holds no rank slot of job ",
                                               options_.job_id, " any more (",
                                               membership.status().message(), ")"));
    } else if (!Transient(membership.status())) {
      return membership.status();
    } else if (Clock::now() - reachable >= options_.unreachable_timeout) {
      return absl::UnavailableError(absl::StrCat("the coordinator has been unreachable for ",
                                                 options_.unreachable_timeout.count() / 1000,
                                                 " s: ", membership.status().message()));
    }
    std::unique_lock<std::mutex> lock(mu_);
    wake_.wait_for(lock, options_.poll, [&] { return stopping_; });
  }
}

bool CoordinatorGroupDirectory::Changed(int64_t current) { return latest_.load() > current; }

std::unique_ptr<dist::KeyValueStore> CoordinatorGroupDirectory::StoreFor(int64_t id) {
  return MakeCoordinatorStore(this, id);
}

std::unique_ptr<dist::KeyValueStore> MakeCoordinatorStore(CoordinatorGroupDirectory* directory,
                                                          int64_t id) {
  return std::make_unique<CoordinatorStore>(directory, id);
}

}  // namespace fsc::worker
