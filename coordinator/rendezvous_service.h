// RendezvousService: what the ranks of a training job use to find each other. A key-value
// store per (job, generation) with a KvGet that waits until every asked key exists, and
// GetMembership, which tells a rank its place in the current generation of the job's train
// stage (train_groups.h: the leased rank slots, in slot order; a new generation whenever they
// change). Only workers holding such a lease may call. The store lives in memory: a coordinator
// restart is a new generation (its counter is persisted), so the ranks re-rendezvous.
#ifndef FSC_COORDINATOR_RENDEZVOUS_SERVICE_H_
#define FSC_COORDINATOR_RENDEZVOUS_SERVICE_H_

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "coordinator/auth.h"
#include "coordinator/scheduler.h"
#include "proto/fsc.grpc.pb.h"

namespace fsc::coordinator {

class RendezvousServiceImpl final : public proto::RendezvousService::Service {
 public:
  RendezvousServiceImpl(Scheduler* scheduler, Authenticator* auth)
      : scheduler_(scheduler), auth_(auth) {}

  grpc::Status KvSet(grpc::ServerContext* context, const proto::KvSetRequest* request,
                     proto::KvSetResponse* response) override;
  grpc::Status KvGet(grpc::ServerContext* context, const proto::KvGetRequest* request,
                     proto::KvGetResponse* response) override;
  grpc::Status GetMembership(grpc::ServerContext* context, const proto::MembershipRequest* request,
                             proto::Membership* response) override;

  // Wakes waiting KvGets so the server can shut down.
  void Shutdown();

 private:
  // The worker of the call, which must hold a train lease of `job_id`.
  absl::StatusOr<std::string> Member(const grpc::ServerContext& context, const std::string& job_id,
                                     const std::string& claimed_worker_id);

  Scheduler* scheduler_;
  Authenticator* auth_;
  std::mutex mu_;
  std::condition_variable changed_;
  bool shutdown_ = false;
  // (job id, generation) -> key -> value
  std::map<std::pair<std::string, int64_t>, std::map<std::string, std::string>> kv_;
};

}  // namespace fsc::coordinator

#endif  // FSC_COORDINATOR_RENDEZVOUS_SERVICE_H_
