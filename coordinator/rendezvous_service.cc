// Rendezvous key-value store and membership for training jobs.
#include "coordinator/rendezvous_service.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "coordinator/validation.h"
#include "core/rpc/version.h"
#include "core/util/status_macros.h"

namespace fsc::coordinator {
namespace {

constexpr int64_t kMaxValueBytes = 4 << 20;
constexpr int kMaxKeys = 1024;
constexpr int64_t kMaxWaitMs = 300000;
constexpr size_t kMaxKeysPerGeneration = 100000;

grpc::Status Handle(const std::function<absl::Status()>& body) { return ToGrpcStatus(body()); }

absl::Status ValidateKey(const std::string& key) {
  if (key.empty() || key.size() > 512) {
    return absl::InvalidArgumentError("key: must have 1 to 512 bytes");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> RendezvousServiceImpl::Member(const grpc::ServerContext& context,
                                                          const std::string& job_id,
                                                          const std::string& claimed_worker_id) {
  FSC_ASSIGN_OR_RETURN(std::string worker, auth_->Worker(context, claimed_worker_id));
  FSC_RETURN_IF_ERROR(ValidateId(job_id, "job_id"));
  FSC_ASSIGN_OR_RETURN(auto leases, scheduler_->TrainLeases(job_id));
  for (const auto& lease : leases) {
    if (lease.first == worker) return worker;
  }
  return absl::PermissionDeniedError(
      absl::StrCat("worker ", worker, " holds no train task of job ", job_id));
}

grpc::Status RendezvousServiceImpl::KvSet(grpc::ServerContext* context,
                                          const proto::KvSetRequest* request,
                                          proto::KvSetResponse*) {
  return Handle([&]() -> absl::Status {
    FSC_RETURN_IF_ERROR(Member(*context, request->job_id(), "").status());
    FSC_RETURN_IF_ERROR(CheckVersion(request->version()));
    FSC_RETURN_IF_ERROR(ValidateKey(request->key()));
    if (request->generation() < 0) return absl::InvalidArgumentError("generation: negative");
    if (static_cast<int64_t>(request->value().size()) > kMaxValueBytes) {
      return absl::InvalidArgumentError("value: larger than 4 MiB");
    }
    std::lock_guard<std::mutex> lock(mu_);
    // Older generations of this job are over: drop them.
    for (auto it = kv_.begin(); it != kv_.end();) {
      bool stale = it->first.first == request->job_id() && it->first.second < request->generation();
      it = stale ? kv_.erase(it) : std::next(it);
    }
    auto& keys = kv_[{request->job_id(), request->generation()}];
    if (keys.size() >= kMaxKeysPerGeneration && keys.count(request->key()) == 0) {
      return absl::ResourceExhaustedError("too many keys in this generation");
    }
    keys[request->key()] = request->value();
    changed_.notify_all();
    return absl::OkStatus();
  });
}

grpc::Status RendezvousServiceImpl::KvGet(grpc::ServerContext* context,
                                          const proto::KvGetRequest* request,
                                          proto::KvGetResponse* response) {
  return Handle([&]() -> absl::Status {
    FSC_RETURN_IF_ERROR(Member(*context, request->job_id(), "").status());
    FSC_RETURN_IF_ERROR(CheckVersion(request->version()));
    if (request->keys_size() == 0 || request->keys_size() > kMaxKeys) {
      return absl::InvalidArgumentError(absl::StrCat("keys: ask for 1 to ", kMaxKeys, " keys"));
    }
    for (const std::string& key : request->keys()) FSC_RETURN_IF_ERROR(ValidateKey(key));
    if (request->wait_ms() < 0 || request->wait_ms() > kMaxWaitMs) {
      return absl::InvalidArgumentError(
          absl::StrCat("wait_ms: ", request->wait_ms(), " is outside 0..", kMaxWaitMs));
    }
    auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(request->wait_ms());
    std::pair<std::string, int64_t> slot{request->job_id(), request->generation()};
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      std::vector<std::string> missing;
      auto found = kv_.find(slot);
      for (const std::string& key : request->keys()) {
        if (found == kv_.end() || found->second.count(key) == 0) missing.push_back(key);
      }
      if (missing.empty()) {
        for (const std::string& key : request->keys()) response->add_values(found->second[key]);
        return absl::OkStatus();
      }
      auto now = std::chrono::steady_clock::now();
      if (now >= deadline || shutdown_ || context->IsCancelled()) {
        return absl::DeadlineExceededError(absl::StrCat("rendezvous keys not set within ",
                                                        request->wait_ms(),
                                                        " ms: ", absl::StrJoin(missing, ", ")));
      }
      // Re-check the call's cancellation at least every 200 ms.
      changed_.wait_until(lock, std::min(deadline, now + std::chrono::milliseconds(200)));
    }
  });
}

grpc::Status RendezvousServiceImpl::GetMembership(grpc::ServerContext* context,
                                                  const proto::MembershipRequest* request,
                                                  proto::Membership* response) {
  return Handle([&]() -> absl::Status {
    FSC_ASSIGN_OR_RETURN(std::string worker,
                         Member(*context, request->job_id(), request->worker_id()));
    FSC_RETURN_IF_ERROR(CheckVersion(request->version()));
    if (request->broken_generation() < 0) {
      return absl::InvalidArgumentError("broken_generation: negative");
    }
    FSC_ASSIGN_OR_RETURN(TrainGroup group,
                         scheduler_->TrainGroupOf(request->job_id(), request->broken_generation()));
    response->set_version(rpc::kClusterProtoVersion);
    response->set_job_id(request->job_id());
    response->set_generation(group.generation);
    response->set_rank(-1);
    for (size_t rank = 0; rank < group.members.size(); ++rank) {
      response->add_worker_ids(group.members[rank].worker_id);
      response->add_task_ids(group.members[rank].task_id);
      if (group.members[rank].worker_id == worker) response->set_rank(static_cast<int>(rank));
    }
    response->set_world_size(static_cast<int>(group.members.size()));
    response->set_resume_iteration(0);
    return absl::OkStatus();
  });
}

void RendezvousServiceImpl::Shutdown() {
  std::lock_guard<std::mutex> lock(mu_);
  shutdown_ = true;
  changed_.notify_all();
}

}  // namespace fsc::coordinator
