// The worker's side of elastic training against a real coordinator (in-process, plaintext on
// 127.0.0.1) and real worker sessions: CoordinatorGroupDirectory tells two ranks their first
// generation, their generation's store passes keys between them (and hides other generations'),
// a lost member makes a new generation that Changed() reports and Next() returns to the survivor,
// the lost worker is told to stop, abandoned generations' waits end with ABORTED, and a cancelled
// task ends Next(). Also the data plane's default address.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <thread>

#include "coordinator/datasets.h"
#include "coordinator/server.h"
#include "coordinator/tokens.h"
#include "core/rpc/channel.h"
#include "tests/test_paths.h"
#include "worker/data_plane.h"
#include "worker/rendezvous_client.h"
#include "worker/session.h"

namespace fsc {
namespace {

using std::chrono::milliseconds;

class RendezvousClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("fsc-rendezvous-client");
    coordinator::ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.db_path = dir_ + "/fsc.db";
    options.data_dir = dir_ + "/data";
    options.insecure = true;
    options.scheduler.lease_ttl_ms = 60000;
    options.scheduler.heartbeat_ms = 200;
    options.scheduler.log_to_stderr = false;
    auto server = coordinator::CoordinatorServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    address_ = "127.0.0.1:" + std::to_string(server_->port());
    join_token_ = coordinator::NewToken("fscj_");
    ASSERT_TRUE(
        server_->store()
            ->AddJoinToken(coordinator::HashToken(join_token_), coordinator::Scheduler::NowMs())
            .ok());
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
    server_.reset();
    std::error_code error;
    std::filesystem::remove_all(dir_, error);
  }

  std::string Faces(const std::string& tag) {
    proto::Dataset dataset;
    proto::FileEntry* file = dataset.add_files();
    file->set_path("face.png");
    file->set_size(1);
    file->set_sha256(std::string(63, 'a') + tag);
    dataset.set_id(coordinator::DatasetId({*file}));
    dataset.set_owner("alice");
    dataset.set_name(tag);
    EXPECT_TRUE(server_->store()->PutDataset(dataset).ok());
    return dataset.id();
  }

  std::unique_ptr<worker::Session> Join(const std::string& name) {
    worker::SessionOptions options;
    options.connect.address = address_;
    options.connect.insecure = true;
    options.join_token = join_token_;
    options.name = name;
    options.roles = {proto::ROLE_TRAIN};
    auto session = worker::Session::Create(options);
    EXPECT_TRUE(session.ok()) << session.status();
    std::atomic<bool> stop{false};
    EXPECT_TRUE((*session)->Register(stop).ok());
    return *std::move(session);
  }

  std::unique_ptr<worker::CoordinatorGroupDirectory> Directory(worker::Session* session,
                                                               const std::string& job_id,
                                                               std::atomic<bool>* cancelled) {
    worker::RendezvousClientOptions options;
    options.channel = rpc::MakeChannel(session->options().connect).value();
    options.worker_id = [session] { return session->worker_id(); };
    options.token = [session] { return session->token(); };
    options.job_id = job_id;
    options.poll = milliseconds(50);
    options.unreachable_timeout = milliseconds(3000);
    options.cancelled = [cancelled] { return cancelled->load(); };
    return std::make_unique<worker::CoordinatorGroupDirectory>(std::move(options));
  }

  std::string dir_, address_, join_token_;
  rpc::ConnectOptions connect_;
  std::unique_ptr<coordinator::CoordinatorServer> server_;
};

TEST_F(RendezvousClientTest, GenerationsStoresAndALostMember) {
  proto::JobSpec spec;
  spec.set_kind(proto::JOB_TRAIN);
  spec.set_faces_a_dataset(Faces("1"));
  spec.set_faces_b_dataset(Faces("2"));
  spec.mutable_train()->set_ranks(2);
  auto job = server_->scheduler()->Submit("alice", spec);
  ASSERT_TRUE(job.ok()) << job.status();

  auto s1 = Join("one");
  auto s2 = Join("two");
  auto t1 = server_->scheduler()->LeaseTask(s1->worker_id(), 0, nullptr);
  auto t2 = server_->scheduler()->LeaseTask(s2->worker_id(), 0, nullptr);
  ASSERT_TRUE(t1.ok() && t2.ok() && t1->has_value() && t2->has_value());

  std::atomic<bool> cancel1{false}, cancel2{false};
  auto d1 = Directory(s1.get(), job->id(), &cancel1);
  auto d2 = Directory(s2.get(), job->id(), &cancel2);
  auto g1 = std::async(std::launch::async, [&] { return d1->Next(0); });
  auto g2 = std::async(std::launch::async, [&] { return d2->Next(0); });
  absl::StatusOr<dist::Generation> first = g1.get(), second = g2.get();
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(first->id, 1);
  EXPECT_EQ(second->id, 1);
  EXPECT_EQ(first->world_size, 2);
  EXPECT_EQ(first->rank, 0);
  EXPECT_EQ(second->rank, 1);
  EXPECT_FALSE(d1->Changed(1));

  // Keys pass between the ranks within a generation, and only within it.
  auto store1 = d1->StoreFor(1);
  auto store2 = d2->StoreFor(1);
  auto waiting = std::async(std::launch::async, [&] {
    return store2->Get({"rank0", "rank1"}, absl::Seconds(10));
  });
  ASSERT_TRUE(store1->Set("rank0", "10.0.0.1:4000").ok());
  ASSERT_TRUE(store2->Set("rank1", std::string("\0binary", 7)).ok());
  absl::StatusOr<std::vector<std::string>> values = waiting.get();
  ASSERT_TRUE(values.ok()) << values.status();
  EXPECT_EQ((*values)[0], "10.0.0.1:4000");
  EXPECT_EQ((*values)[1], std::string("\0binary", 7));
  EXPECT_EQ(store1->Get({"missing"}, absl::Milliseconds(300)).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(d1->StoreFor(2)->Get({"rank0"}, absl::Milliseconds(300)).status().code(),
            absl::StatusCode::kDeadlineExceeded);

  // The second member's lease ends (it stopped heartbeating): generation 2 has rank 0 alone.
  const int64_t later = coordinator::Scheduler::NowMs() + 120000;
  ASSERT_TRUE(server_->store()->SetLeaseExpiry((*t1)->id(), later + 60000).ok());
  ASSERT_TRUE(server_->scheduler()->ExpireLeases(later).ok());
  for (int i = 0; i < 100 && !d1->Changed(1); ++i) std::this_thread::sleep_for(milliseconds(20));
  EXPECT_TRUE(d1->Changed(1));
  absl::StatusOr<dist::Generation> next = d1->Next(1);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->id, 2);
  EXPECT_EQ(next->rank, 0);
  EXPECT_EQ(next->world_size, 1);
  // A wait in the abandoned generation ends; the lost member is told to stop.
  EXPECT_EQ(store1->Get({"never"}, absl::Seconds(10)).status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(store2->Get({"never"}, absl::Seconds(10)).status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(d2->Next(1).status().code(), absl::StatusCode::kCancelled);

  // A cancelled task ends a waiting Next().
  auto blocked = std::async(std::launch::async, [&] { return d1->Next(2); });
  std::this_thread::sleep_for(milliseconds(200));
  cancel1 = true;
  EXPECT_EQ(blocked.get().status().code(), absl::StatusCode::kCancelled);
}

TEST_F(RendezvousClientTest, AnUnreachableCoordinatorEndsNextWithUnavailable) {
  auto s1 = Join("one");
  std::atomic<bool> cancel{false};
  worker::RendezvousClientOptions options;
  connect_ = s1->options().connect;
  connect_.address = "127.0.0.1:1";  // nothing listens there
  options.channel = rpc::MakeChannel(connect_).value();
  options.worker_id = [&] { return s1->worker_id(); };
  options.token = [&] { return s1->token(); };
  options.job_id = "j0123456789abcdef";
  options.poll = milliseconds(50);
  options.unreachable_timeout = milliseconds(500);
  options.cancelled = [&] { return cancel.load(); };
  worker::CoordinatorGroupDirectory directory(std::move(options));
  EXPECT_EQ(directory.Next(0).status().code(), absl::StatusCode::kUnavailable);
}

TEST(DataPlaneTest, DefaultAddressIsTheRouteTowardTheCoordinator) {
  auto local = worker::LocalAddressToward("127.0.0.1:7070");
  ASSERT_TRUE(local.ok()) << local.status();
  EXPECT_EQ(*local, "127.0.0.1");
  EXPECT_EQ(worker::LocalAddressToward("no-port").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(worker::CheckBindable("127.0.0.1").ok());
  EXPECT_EQ(worker::CheckBindable("eth0").code(), absl::StatusCode::kInvalidArgument);
  // An address of no interface of this host cannot be bound.
  EXPECT_EQ(worker::CheckBindable("192.0.2.77").code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fsc
