// core/dist on one machine: the file store (values, timeouts), the Gloo communicator between
// threads (sums, max, point-to-point, a peer that never arrives and a peer that stops taking
// part: DEADLINE_EXCEEDED, not a hang), bulk transfers (to some ranks only, bystanders, a
// transfer far longer than the timeout that completes because it progresses, a source that
// stalls), gradient buckets, and the reducer's weighted all-reduce of uneven shards against a
// single-process full batch.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "core/dist/bulk_transfer.h"
#include "core/dist/communicator.h"
#include "core/dist/file_store.h"
#include "core/dist/gradient_reducer.h"
#include "core/dist/local_group.h"
#include "core/dist/nccl_communicator.h"
#include "tests/test_paths.h"

namespace fsc::dist {
namespace {

// Runs fn(rank) on `world` threads and joins them.
void OnRanks(int world, const std::function<void(int)>& fn) {
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r) threads.emplace_back([&fn, r] { fn(r); });
  for (std::thread& t : threads) t.join();
}

CommunicatorOptions Gloo(int rank, int world, absl::Duration timeout = absl::Seconds(20)) {
  CommunicatorOptions o;
  o.backend = "gloo";
  o.rank = rank;
  o.world_size = world;
  o.timeout = timeout;
  return o;
}

TEST(FileStoreTest, SetThenGetAndWaitingGet) {
  FileStore store(testing::MakeTempDir("fsc-kv") + "/store");
  ASSERT_TRUE(store.Set("gloo/0", std::string("a\0b", 3)).ok());
  std::thread late([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ASSERT_TRUE(store.Set("key with / and spaces", "second").ok());
  });
  auto values = store.Get({"gloo/0", "key with / and spaces"}, absl::Seconds(10));
  late.join();
  ASSERT_TRUE(values.ok()) << values.status();
  EXPECT_EQ((*values)[0], std::string("a\0b", 3));
  EXPECT_EQ((*values)[1], "second");
}

TEST(FileStoreTest, MissingKeyIsDeadlineExceededNamingIt) {
  FileStore store(testing::MakeTempDir("fsc-kv"));
  ASSERT_TRUE(store.Set("here", "1").ok());
  auto values = store.Get({"here", "never"}, absl::Milliseconds(200));
  ASSERT_EQ(values.status().code(), absl::StatusCode::kDeadlineExceeded) << values.status();
  EXPECT_NE(values.status().message().find("\"never\""), std::string::npos);
  EXPECT_EQ(values.status().message().find("\"here\""), std::string::npos);
}

TEST(LocalGroupTest, GenerationZeroThenAborted) {
  LocalGroup group(testing::MakeTempDir("fsc-group"), 1, 3);
  auto first = group.Next(-1);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->id, 0);
  EXPECT_EQ(first->rank, 1);
  EXPECT_EQ(first->world_size, 3);
  EXPECT_FALSE(group.Changed(0));
  EXPECT_EQ(group.Next(0).status().code(), absl::StatusCode::kAborted);
}

TEST(CommunicatorTest, GlooSumMaxAndBroadcastAcrossThreeRanks) {
  const std::string dir = testing::MakeTempDir("fsc-gloo");
  std::vector<absl::Status> errors(3);
  std::vector<std::vector<float>> sums(3);
  std::vector<int64_t> maxes(3);
  std::vector<std::string> received(3);
  OnRanks(3, [&](int r) {
    FileStore store(dir);
    auto comm = Connect(Gloo(r, 3), &store);
    if (!comm.ok()) {
      errors[r] = comm.status();
      return;
    }
    // 1000003 elements: more than one of Gloo's ring segments, not a multiple of 3.
    std::vector<float> data(1000003);
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<float>(r + 1) * (i % 7);
    errors[r] = (*comm)->AllReduceSum(data.data(), data.size());
    sums[r] = {data[0], data[1], data[6], data.back()};
    int64_t value = 10 * r + 5;
    if (errors[r].ok()) errors[r] = (*comm)->AllReduceMaxHost(&value, 1);
    maxes[r] = value;
    std::string bytes;
    if (r == 2) {
      bytes.resize(70 << 20);  // > one broadcast chunk
      for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 31 % 251);
    }
    TransferPlan plan{2, {0, 1}};
    if (errors[r].ok()) errors[r] = TransferString(comm->get(), plan, &bytes).status();
    received[r] = std::move(bytes);
  });
  for (int r = 0; r < 3; ++r) {
    ASSERT_TRUE(errors[r].ok()) << "rank " << r << ": " << errors[r];
    EXPECT_EQ(sums[r], (std::vector<float>{0, 6, 36, 6.0f * (1000002 % 7)}));
    EXPECT_EQ(maxes[r], 25);
    EXPECT_EQ(received[r], received[2]);
  }
  EXPECT_EQ(received[0].size(), size_t{70} << 20);
}

// A communicator whose sends take `delay` each: a slow but live link.
class SlowLink : public Communicator {
 public:
  SlowLink(std::unique_ptr<Communicator> inner, absl::Duration delay)
      : inner_(std::move(inner)), delay_(delay) {}
  int rank() const override { return inner_->rank(); }
  int world_size() const override { return inner_->world_size(); }
  std::string backend() const override { return inner_->backend(); }
  absl::Status AllReduceSum(float* d, size_t n) override { return inner_->AllReduceSum(d, n); }
  absl::Status AllReduceSumHost(double* d, size_t n) override {
    return inner_->AllReduceSumHost(d, n);
  }
  absl::Status AllReduceMaxHost(int64_t* d, size_t n) override {
    return inner_->AllReduceMaxHost(d, n);
  }
  absl::Status Broadcast(void* d, size_t n, int root) override {
    return inner_->Broadcast(d, n, root);
  }
  absl::Status Send(const void* d, size_t n, int peer) override {
    absl::SleepFor(delay_);
    return inner_->Send(d, n, peer);
  }
  absl::Status Recv(void* d, size_t n, int peer) override { return inner_->Recv(d, n, peer); }

 private:
  std::unique_ptr<Communicator> inner_;
  absl::Duration delay_;
};

std::vector<char> Pattern(size_t bytes) {
  std::vector<char> data(bytes);
  for (size_t i = 0; i < bytes; ++i) data[i] = static_cast<char>(i * 131 % 253);
  return data;
}

TEST(BulkTransferTest, OnlyTheReceiversGetTheDataAndTheBystanderWaits) {
  const std::string dir = testing::MakeTempDir("fsc-gloo");
  std::vector<absl::StatusOr<TransferStats>> stats(3, absl::UnknownError("not run"));
  std::vector<std::vector<char>> first(3), second(3);
  const TransferPlan plan{1, {2}};  // rank 0 already holds the data
  std::vector<size_t> spans_seen;
  OnRanks(3, [&](int r) {
    FileStore store(dir);
    auto comm = Connect(Gloo(r, 3), &store);
    if (!comm.ok()) {
      stats[r] = comm.status();
      return;
    }
    // Two spans (of 9 MiB + 3 bytes and of 5 bytes): chunks split spans, never join them.
    first[r] = r == 1 ? Pattern((9 << 20) + 3) : std::vector<char>((9 << 20) + 3, 0);
    second[r] = r == 1 ? std::vector<char>{1, 2, 3, 4, 5} : std::vector<char>(5, 0);
    TransferOptions options;
    options.chunk_bytes = 1 << 20;
    options.token_every = absl::ZeroDuration();  // a token after every chunk
    options.on_span = [&, r](size_t index) {
      EXPECT_EQ(r, 2) << "only receivers see spans arrive";
      spans_seen.push_back(index);
    };
    stats[r] = Transfer(comm->get(), plan,
                        {{first[r].data(), first[r].size()}, {second[r].data(), second[r].size()}},
                        options);
  });
  for (int r = 0; r < 3; ++r)
    ASSERT_TRUE(stats[r].ok()) << "rank " << r << ": " << stats[r].status();
  EXPECT_EQ(first[2], first[1]);
  EXPECT_EQ(second[2], second[1]);
  EXPECT_EQ(first[0], std::vector<char>((9 << 20) + 3, 0)) << "the bystander received nothing";
  EXPECT_EQ(stats[1]->bytes_sent, (9 << 20) + 8);
  EXPECT_EQ(stats[2]->bytes_received, (9 << 20) + 8);
  EXPECT_EQ(stats[0]->bytes_received + stats[0]->bytes_sent, 0);
  EXPECT_EQ(RoleIn(plan, 0), TransferRole::kBystander);
  EXPECT_EQ(spans_seen, (std::vector<size_t>{0, 1}));
}

TEST(BulkTransferTest, ATransferLongerThanTheTimeoutCompletesWhileItProgresses) {
  // 24 chunks over a link that takes 80 ms per send: 2-3 s in all against a 1 s timeout. Each
  // chunk (and each token to the bystander) arrives well within the timeout, so nothing fails;
  // progress is reported on the way.
  const std::string dir = testing::MakeTempDir("fsc-gloo");
  std::vector<absl::Status> errors(3);
  std::vector<std::vector<char>> data(3);
  std::vector<int> reports(3, 0);
  OnRanks(3, [&](int r) {
    FileStore store(dir);
    auto comm = Connect(Gloo(r, 3, absl::Seconds(1)), &store);
    if (!comm.ok()) {
      errors[r] = comm.status();
      return;
    }
    SlowLink link(*std::move(comm), absl::Milliseconds(80));
    data[r] = r == 0 ? Pattern(24 << 16) : std::vector<char>(24 << 16, 0);
    TransferOptions options;
    options.chunk_bytes = 1 << 16;
    options.report_every = absl::Milliseconds(500);
    options.token_every = absl::Milliseconds(300);
    options.on_progress = [&, r](const TransferProgress& p) {
      EXPECT_GT(p.bytes_done, 0);
      EXPECT_EQ(p.bytes_total, 24 << 16);
      ++reports[r];
    };
    errors[r] = Transfer(&link, {0, {1}}, {{data[r].data(), data[r].size()}}, options).status();
  });
  for (int r = 0; r < 3; ++r) ASSERT_TRUE(errors[r].ok()) << "rank " << r << ": " << errors[r];
  EXPECT_EQ(data[1], data[0]);
  EXPECT_GE(reports[0], 1);
  EXPECT_GE(reports[1], 1);
  EXPECT_EQ(reports[2], 0) << "bystanders report nothing";
}

TEST(BulkTransferTest, ASourceThatStopsSendingFailsItsReceiverAndBystander) {
  const std::string dir = testing::MakeTempDir("fsc-gloo");
  std::vector<absl::Status> errors(3);
  std::atomic<int> waiting{2};
  OnRanks(3, [&](int r) {
    FileStore store(dir);
    auto comm = Connect(Gloo(r, 3, absl::Seconds(1)), &store);
    ASSERT_TRUE(comm.ok()) << comm.status();
    if (r == 0) {
      // Connected, but never sends (a hung source); alive until both others gave up.
      while (waiting > 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      return;
    }
    std::vector<char> data(1 << 20);
    errors[r] = Transfer(comm->get(), {0, {1}}, {{data.data(), data.size()}}).status();
    --waiting;
  });
  EXPECT_EQ(errors[1].code(), absl::StatusCode::kDeadlineExceeded) << errors[1];
  EXPECT_NE(errors[1].message().find("receiving from rank 0"), std::string::npos) << errors[1];
  EXPECT_EQ(errors[2].code(), absl::StatusCode::kDeadlineExceeded) << errors[2];
  EXPECT_NE(errors[2].message().find("waiting for rank 0"), std::string::npos) << errors[2];
}

TEST(CommunicatorTest, PeerThatNeverArrivesIsDeadlineExceeded) {
  FileStore store(testing::MakeTempDir("fsc-gloo"));
  auto comm = Connect(Gloo(0, 2, absl::Milliseconds(500)), &store);
  ASSERT_EQ(comm.status().code(), absl::StatusCode::kDeadlineExceeded) << comm.status();
}

TEST(CommunicatorTest, PeerThatStopsCallingCollectivesIsDeadlineExceeded) {
  const std::string dir = testing::MakeTempDir("fsc-gloo");
  absl::Status first, after;
  std::atomic<bool> done{false};
  OnRanks(2, [&](int r) {
    FileStore store(dir);
    auto comm = Connect(Gloo(r, 2, absl::Seconds(1)), &store);
    ASSERT_TRUE(comm.ok()) << comm.status();
    if (r == 1) {
      // Connected, but never joins the all-reduce (a hung peer); stays alive until rank 0 gave up.
      while (!done) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      return;
    }
    std::vector<float> data(1024, 1.0f);
    first = (*comm)->AllReduceSum(data.data(), data.size());
    after = (*comm)->AllReduceSum(data.data(), data.size());
    done = true;
  });
  EXPECT_EQ(first.code(), absl::StatusCode::kDeadlineExceeded) << first;
  EXPECT_EQ(after.code(), absl::StatusCode::kFailedPrecondition) << after;
}

TEST(CommunicatorTest, BackendNamesAndNcclWithoutGpu) {
  EXPECT_EQ(*ResolveBackend("auto", false), "gloo");
  EXPECT_EQ(*ResolveBackend("auto", true), "nccl");
  EXPECT_EQ(ResolveBackend("mpi", false).status().code(), absl::StatusCode::kInvalidArgument);
  if (torch::cuda::is_available()) GTEST_SKIP() << "this machine has a GPU";
  FileStore store(testing::MakeTempDir("fsc-nccl"));
  CommunicatorOptions o = Gloo(0, 1);
  o.backend = "nccl";
  auto comm = Connect(o, &store);
  if (comm.ok()) GTEST_SKIP() << "NCCL found a GPU that LibTorch does not use";
  EXPECT_EQ(comm.status().code(), absl::StatusCode::kFailedPrecondition) << comm.status();
  EXPECT_NE(comm.status().message().find("gloo"), std::string::npos) << comm.status();
}

TEST(BucketTest, ReverseOrderClosedAtTheByteLimit) {
  std::vector<torch::Tensor> params = {torch::zeros({10}), torch::zeros({4, 5}), torch::zeros({3}),
                                       torch::zeros({30})};
  // 64 bytes = 16 floats: [30] alone, then [3] + [4x5] (23 >= 16), then [10].
  std::vector<BucketLayout> buckets = PlanBuckets(params, 64);
  ASSERT_EQ(buckets.size(), 3u);
  EXPECT_EQ(buckets[0].params, std::vector<int>({3}));
  EXPECT_EQ(buckets[1].params, std::vector<int>({2, 1}));
  EXPECT_EQ(buckets[1].offsets, std::vector<int64_t>({0, 3}));
  EXPECT_EQ(buckets[1].elements, 23);
  EXPECT_EQ(buckets[2].params, std::vector<int>({0}));
  EXPECT_EQ(PlanBuckets(params, 1 << 20).size(), 1u);
}

// A small network whose gradient depends on every row of the batch.
struct Net : torch::nn::Module {
  Net() {
    torch::manual_seed(7);
    a = register_module("a", torch::nn::Linear(6, 16));
    b = register_module("b", torch::nn::Linear(16, 3));
    unused = register_parameter("unused", torch::ones({4}));
  }
  torch::Tensor forward(const torch::Tensor& x) { return b(torch::tanh(a(x))); }
  torch::nn::Linear a{nullptr}, b{nullptr};
  torch::Tensor unused;  // gets no gradient: the reducer must still agree on it
};

std::vector<torch::Tensor> Grads(Net& net) {
  std::vector<torch::Tensor> out;
  for (auto& p : net.parameters()) {
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    out.push_back(p.grad());
  }
  return out;
}

TEST(GradientReducerTest, UnevenShardsGiveTheFullBatchGradient) {
  const int64_t global = 7;
  torch::manual_seed(1);
  const torch::Tensor x = torch::randn({global, 6}), y = torch::randn({global, 3});
  // The reference: one process, the whole batch.
  Net reference;
  torch::mse_loss(reference.forward(x), y).backward();
  std::vector<torch::Tensor> expected = Grads(reference);

  const std::string dir = testing::MakeTempDir("fsc-reducer");
  const int world = 3;
  std::vector<std::vector<torch::Tensor>> got(world);
  std::vector<absl::Status> errors(world);
  std::vector<ReducerStats> stats(world);
  // Made here: the seeded initialisation uses LibTorch's global generator, not thread-safe.
  std::vector<std::unique_ptr<Net>> nets;
  for (int r = 0; r < world; ++r) nets.push_back(std::make_unique<Net>());
  OnRanks(world, [&](int r) {
    FileStore store(dir);
    auto comm = Connect(Gloo(r, world), &store);
    if (!comm.ok()) {
      errors[r] = comm.status();
      return;
    }
    Net& net = *nets[r];
    std::vector<torch::Tensor> params = net.parameters();
    // 80 bytes: several buckets.
    auto reducer = GradientReducer::Create(comm->get(), {{"model", params}}, 80);
    if (!reducer.ok()) {
      errors[r] = reducer.status();
      return;
    }
    const int64_t begin = r * global / world, end = (r + 1) * global / world;  // 2, 2, 3 rows
    (*reducer)->set_weight(static_cast<double>(end - begin) / global);
    for (int step = 0; step < 2; ++step) {  // the second step reuses the buckets
      for (auto& p : params) p.mutable_grad() = torch::Tensor();
      torch::mse_loss(net.forward(x.slice(0, begin, end)), y.slice(0, begin, end)).backward();
      errors[r] = (*reducer)->Finish("model", Grads(net));
      if (!errors[r].ok()) return;
    }
    stats[r] = (*reducer)->TakeStats();
    for (auto& g : Grads(net)) got[r].push_back(g.clone());
  });
  for (int r = 0; r < world; ++r) {
    ASSERT_TRUE(errors[r].ok()) << "rank " << r << ": " << errors[r];
    ASSERT_EQ(got[r].size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      EXPECT_TRUE(torch::allclose(got[r][i], expected[i], 1e-5, 1e-6))
          << "rank " << r << " parameter " << i << "\n"
          << got[r][i] << "\n"
          << expected[i];
    }
    EXPECT_GT(stats[r].buckets, 2);
    EXPECT_EQ(stats[r].bytes, 2 * 4 * (6 * 16 + 16 + 16 * 3 + 3 + 4));
  }
}

TEST(GradientReducerTest, RebindCarriesTheReducerIntoTheNextGeneration) {
  // Generation 1: three ranks; rank 2 leaves after one step, so the others' next all-reduce
  // fails. Generation 2: ranks 0 and 1 on a new communicator with the SAME reducers (buckets and
  // hooks kept): the error is forgotten and the gradient is the full batch's again.
  const int64_t global = 6;
  torch::manual_seed(2);
  const torch::Tensor x = torch::randn({global, 6}), y = torch::randn({global, 3});
  Net reference;
  torch::mse_loss(reference.forward(x), y).backward();
  const std::vector<torch::Tensor> expected = Grads(reference);

  std::vector<std::unique_ptr<Net>> nets;
  for (int r = 0; r < 3; ++r) nets.push_back(std::make_unique<Net>());
  std::vector<std::unique_ptr<GradientReducer>> reducers(3);
  std::vector<absl::Status> first(3), lost(3), second(2);
  auto step = [&](int r, int world) {
    const int64_t begin = r * global / world, end = (r + 1) * global / world;
    reducers[r]->set_weight(static_cast<double>(end - begin) / global);
    for (auto& p : nets[r]->parameters()) p.mutable_grad() = torch::Tensor();
    torch::mse_loss(nets[r]->forward(x.slice(0, begin, end)), y.slice(0, begin, end)).backward();
    return reducers[r]->Finish("model", Grads(*nets[r]));
  };
  const std::string gen1 = testing::MakeTempDir("fsc-rebind-1");
  OnRanks(3, [&](int r) {
    FileStore store(gen1);
    auto comm = Connect(Gloo(r, 3), &store);
    if (!comm.ok()) {
      first[r] = comm.status();
      return;
    }
    auto made = GradientReducer::Create(comm->get(), {{"model", nets[r]->parameters()}}, 80);
    if (!made.ok()) {
      first[r] = made.status();
      return;
    }
    reducers[r] = *std::move(made);
    first[r] = step(r, 3);
    if (r == 2 || !first[r].ok()) {
      reducers[r]->Rebind(nullptr);
      return;  // rank 2's communicator closes: its peers' next all-reduce fails
    }
    lost[r] = step(r, 3);
    reducers[r]->Rebind(nullptr);
  });
  for (int r = 0; r < 3; ++r) ASSERT_TRUE(first[r].ok()) << "rank " << r << ": " << first[r];
  for (int r = 0; r < 2; ++r) EXPECT_FALSE(lost[r].ok()) << "rank " << r;

  const std::string gen2 = testing::MakeTempDir("fsc-rebind-2");
  OnRanks(2, [&](int r) {
    FileStore store(gen2);
    auto comm = Connect(Gloo(r, 2), &store);
    if (!comm.ok()) {
      second[r] = comm.status();
      return;
    }
    reducers[r]->Rebind(comm->get());
    second[r] = step(r, 2);
    reducers[r]->Rebind(nullptr);
  });
  for (int r = 0; r < 2; ++r) {
    ASSERT_TRUE(second[r].ok()) << "rank " << r << ": " << second[r];
    const std::vector<torch::Tensor> got = Grads(*nets[r]);
    ASSERT_EQ(got.size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      EXPECT_TRUE(torch::allclose(got[i], expected[i], 1e-5, 1e-6))
          << "rank " << r << " parameter " << i;
    }
  }
}

}  // namespace
}  // namespace fsc::dist
