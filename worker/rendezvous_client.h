// The cluster side of elastic training (core/dist/elastic.h) for one rank-slot task: a
// dist::GroupDirectory over the coordinator's RendezvousService.GetMembership and a
// dist::KeyValueStore per generation over KvSet/KvGet, authenticated as this worker.
//
//   - Next(after) polls GetMembership until a generation newer than `after` includes this
//     worker. It reports `after` broken: the caller left it because a collective failed or the
//     group changed; if nobody actually left, the coordinator re-forms the same members as a new
//     generation after a lease TTL (otherwise a merely slow peer would stall the group). CANCELLED
//     when the task must stop or the coordinator says this worker holds no slot of the job any more
//     (lease lost, stage over); UNAVAILABLE when the coordinator stays unreachable for
//     `unreachable_timeout`.
//   - Changed(current) reads what a background thread last saw (it polls every `poll`), so the
//     training loop can ask at every step for free.
//   - StoreFor(id).Get waits in short KvGet long-polls, between which it gives up with ABORTED
//     once a newer generation exists (nobody will set the keys of an abandoned generation) and
//     with CANCELLED when the task must stop.
#ifndef FSC_WORKER_RENDEZVOUS_CLIENT_H_
#define FSC_WORKER_RENDEZVOUS_CLIENT_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "core/dist/elastic.h"
#include "core/dist/kv_store.h"
#include "proto/fsc.grpc.pb.h"

namespace fsc::worker {

struct RendezvousClientOptions {
  std::shared_ptr<grpc::Channel> channel;  // to the coordinator
  // The worker's current id and session token (both may change when it re-registers).
  std::function<std::string()> worker_id;
  std::function<std::string()> token;
  std::string job_id;
  std::chrono::milliseconds poll{250};
  std::chrono::milliseconds unreachable_timeout{60000};
  std::function<bool()> cancelled;  // the task must stop
};

class CoordinatorGroupDirectory final : public dist::GroupDirectory {
 public:
  explicit CoordinatorGroupDirectory(RendezvousClientOptions options);
  ~CoordinatorGroupDirectory() override;

  absl::StatusOr<dist::Generation> Next(int64_t after) override;
  bool Changed(int64_t current) override;
  std::unique_ptr<dist::KeyValueStore> StoreFor(int64_t id) override;

  // The newest generation seen (0 before any).
  int64_t latest() const { return latest_.load(); }
  bool cancelled() const { return options_.cancelled && options_.cancelled(); }
  const RendezvousClientOptions& options() const { return options_; }
  proto::RendezvousService::Stub* stub() { return stub_.get(); }

 private:
  // One GetMembership call (reporting `broken`, 0: nothing); records the generation it saw.
  absl::StatusOr<proto::Membership> Membership(int64_t broken = 0);
  void PollLoop();

  RendezvousClientOptions options_;
  std::unique_ptr<proto::RendezvousService::Stub> stub_;
  std::atomic<int64_t> latest_{0};
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread poller_;
};

// Exposed for tests: the store of generation `id` of the directory's job.
std::unique_ptr<dist::KeyValueStore> MakeCoordinatorStore(CoordinatorGroupDirectory* directory,
                                                          int64_t id);

}  // namespace fsc::worker

#endif  // FSC_WORKER_RENDEZVOUS_CLIENT_H_
