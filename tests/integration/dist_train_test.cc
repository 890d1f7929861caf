// Data-parallel training end to end with real processes: `fsc train --ranks N` (N processes of
// fsc over Gloo on 127.0.0.1) against a 1-process run of the same global batch, same seed and
// fp32: `fsc model diff` must find the weights equal within 1e-5 relative, for 2 ranks (even
// shards) and 3 ranks (8 rows do not divide by 3: weighted shards). Faces: the real extractor's
// output of the sample video, a tiny layout so that a run takes seconds.
//
// Why --epsilon 1e-3: with Faceswap's 1e-7, Adam's update is ±lr for any gradient far above
// 1e-7, and flips sign for gradients within float32 noise of zero, so ANY change of summation
// order (even 1 vs 2 LibTorch threads in one process) moves a 4-step model by ~1e-5 overall and
// ~1e-2 in single bias entries. A larger epsilon keeps the update a smooth function of the
// gradient, so the comparison measures the data-parallel gradient, not Adam's sign flips. The
// relative difference is the model's overall L2 ratio (model_diff.h).
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/dist/elastic.h"
#include "core/dist/file_store.h"
#include "core/train/checkpoint.h"
#include "core/train/trainer.h"
#include "core/util/file_io.h"
#include "tests/test_paths.h"

namespace fsc {
namespace {

namespace fs = std::filesystem;

using testing::CommandResult;
using testing::RunCommand;

CommandResult Fsc(const std::string& arguments) {
  return RunCommand("OMP_NUM_THREADS=1 " + testing::BinDir() + "/fsc " + arguments + " 2>&1");
}

class DistTrainTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new std::string(testing::MakeTempDir("fsc-dist-train"));
    CommandResult a =
        Fsc("extract " + testing::DataDir() + "/Megamind.avi -o " + *root_ + "/A --every-n 20");
    ASSERT_EQ(a.exit_code, 0) << a.output;
    CommandResult b =
        Fsc("extract " + testing::DataDir() + "/Megamind.avi -o " + *root_ + "/B --every-n 23");
    ASSERT_EQ(b.exit_code, 0) << b.output;
    ASSERT_TRUE(testing::WriteTinyArchitecture(*root_ + "/tiny.json"));
  }
  static void TearDownTestSuite() {
    delete root_;
    root_ = nullptr;
  }
  // fp32 and one LibTorch thread per process; small buckets so that a step has several.
  static std::string Train(const std::string& model_dir, const std::string& extra) {
    return "train --architecture " + *root_ + "/tiny.json --a " + *root_ + "/A --b " + *root_ +
           "/B -m " + model_dir +
           " --batch 8 --seed 5 --threads 1 --loader-threads 1 --lr 5e-5 --epsilon 1e-3 "
           "--precision fp32 "
           "--iterations 4 --save-every 2 --snapshot-every 2 --preview-every 0 --log-every 2 " +
           extra;
  }
  static train::TrainOptions TinyElasticOptions(const std::string& name);
  static std::string* root_;
};
std::string* DistTrainTest::root_ = nullptr;

nlohmann::json Diff(const std::string& a, const std::string& b, int* exit_code) {
  CommandResult r = RunCommand(testing::BinDir() + "/fsc model diff " + a + " " + b +
                               " --tolerance 1e-5 --json 2>/dev/null");
  *exit_code = r.exit_code;
  nlohmann::json j = nlohmann::json::parse(r.output, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.output;
  return j;
}

TEST_F(DistTrainTest, RanksMatchOneProcessOfTheSameGlobalBatch) {
  const std::string one = *root_ + "/one", two = *root_ + "/two", three = *root_ + "/three";
  CommandResult single = Fsc(Train(one, ""));
  ASSERT_EQ(single.exit_code, 0) << single.output;
  CommandResult pair = Fsc(Train(two, "--ranks 2 --bucket-mb 1 --json"));
  ASSERT_EQ(pair.exit_code, 0) << pair.output;
  CommandResult triple = Fsc(Train(three, "--ranks 3"));
  ASSERT_EQ(triple.exit_code, 0) << triple.output;
  EXPECT_NE(pair.output.find("rank 1 of 2"), std::string::npos) << pair.output;
  EXPECT_NE(pair.output.find("all-reduce"), std::string::npos) << pair.output;

  int code = -1;
  nlohmann::json d2 = Diff(one, two, &code);
  EXPECT_EQ(code, 0) << d2.dump(2);
  EXPECT_EQ(d2["iteration_a"], 4);
  EXPECT_EQ(d2["iteration_b"], 4);
  EXPECT_LE(d2["overall_relative"].get<double>(), 1e-5);
  EXPECT_GT(d2["tensors"].size(), 10u);

  nlohmann::json d3 = Diff(one, three, &code);
  EXPECT_EQ(code, 0) << d3.dump(2);
  EXPECT_LE(d3["overall_relative"].get<double>(), 1e-5);

  // The comparison is not blind: the model of 2 iterations (its snapshot) differs, exit 1.
  nlohmann::json early = Diff(one, one + "/snapshots/iter_000002", &code);
  EXPECT_EQ(code, 1) << early.dump(2);
  EXPECT_GT(early["overall_relative"].get<double>(), 1e-5);
}

// A member SIGKILLed mid-run: the survivor's collective fails (not a hang), and a fixed local
// group cannot re-form, so it exits 1 naming the loss, with its last checkpoint kept.
TEST_F(DistTrainTest, KilledMemberEndsTheFixedGroupWithAnError) {
  const std::string dir = *root_ + "/killed", store = dir + "/store";
  std::filesystem::create_directories(dir);
  const auto rank = [&](int r) {
    return "OMP_NUM_THREADS=1 " + testing::BinDir() + "/fsc " +
           Train(dir + "/rank" + std::to_string(r), "") +
           " --iterations 100000 --save-every 1 --dist-world 2 --dist-store " + store +
           " --collective-timeout 20 --dist-rank " + std::to_string(r) + " > " + dir + "/log" +
           std::to_string(r) + " 2>&1 & ";
  };
  const std::string script = rank(0) + "R0=$!; " + rank(1) + "R1=$!; " +
                             // Kill rank 1 once rank 0 has saved a step of the group.
                             "for i in $(seq 600); do grep -q \"saved iteration 2\" " + dir +
                             "/log0 && break; sleep 0.1; done; kill -9 $R1; wait $R0; echo exit=$?";
  CommandResult r = RunCommand("bash -c '" + script + "'");
  auto log = util::ReadFile(dir + "/log0");
  ASSERT_TRUE(log.ok());
  EXPECT_NE(r.output.find("exit=1"), std::string::npos) << r.output << *log;
  EXPECT_NE(log->find("lost a member"), std::string::npos) << *log;
  EXPECT_TRUE(train::HasCheckpoint(dir + "/rank0")) << *log;
}

TEST_F(DistTrainTest, BadDistributedFlagsAreRefused) {
  CommandResult r = Fsc(Train(*root_ + "/bad1", "--ranks 2 --dist-world 2"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = Fsc(Train(*root_ + "/bad2", "--dist-world 2 --dist-rank 2 --dist-store /tmp"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = Fsc(Train(*root_ + "/bad3", "--ranks 9"));  // 9 ranks cannot share a batch of 8
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("batch of 8"), std::string::npos) << r.output;
  r = Fsc(Train(*root_ + "/bad4", "--ranks 2 --backend nccl"));
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("gloo"), std::string::npos) << r.output;
  CommandResult diff = RunCommand(testing::BinDir() + "/fsc model diff " + *root_ + "/nowhere " +
                                  *root_ + "/nothing 2>&1");
  EXPECT_EQ(diff.exit_code, 2) << diff.output;
}

// A new generation whenever asked, of two members of which only rank 0 ever arrives.
class NeverForms : public dist::GroupDirectory {
 public:
  explicit NeverForms(std::string dir) : dir_(std::move(dir)) {}
  absl::StatusOr<dist::Generation> Next(int64_t after) override {
    return dist::Generation{after + 1, 0, 2, {"me", "absent-worker"}};
  }
  bool Changed(int64_t) override { return false; }
  std::unique_ptr<dist::KeyValueStore> StoreFor(int64_t id) override {
    return std::make_unique<dist::FileStore>(dir_ + "/generation-" + std::to_string(id));
  }

 private:
  std::string dir_;
};

// Two generations of the same two members: the first ends when rank 0 has finished iteration 2
// (Changed() turns true), the group re-forms as generation 2 and trains on to the end.
class TwoGenerations : public dist::GroupDirectory {
 public:
  TwoGenerations(std::string dir, int rank, std::atomic<int64_t>* latest)
      : dir_(std::move(dir)), rank_(rank), latest_(latest) {}
  absl::StatusOr<dist::Generation> Next(int64_t after) override {
    if (after >= 2) return absl::CancelledError("no third generation");
    while (*latest_ <= after) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return dist::Generation{*latest_, rank_, 2, {}};
  }
  bool Changed(int64_t current) override { return *latest_ > current; }
  std::unique_ptr<dist::KeyValueStore> StoreFor(int64_t id) override {
    return std::make_unique<dist::FileStore>(dir_ + "/generation-" + std::to_string(id));
  }

 private:
  std::string dir_;
  int rank_;
  std::atomic<int64_t>* latest_;
};

// The options of a tiny elastic run in model folder `name` under the test's root.
train::TrainOptions DistTrainTest::TinyElasticOptions(const std::string& name) {
  auto text = util::ReadFile(*root_ + "/tiny.json");
  EXPECT_TRUE(text.ok());
  auto arch = train::ArchitectureFromJson(nlohmann::json::parse(text.value_or("{}")));
  EXPECT_TRUE(arch.ok()) << arch.status();
  train::TrainOptions o;
  o.architecture = arch.value_or(model::Architecture());
  o.model = o.architecture->name;
  o.faces_a = *root_ + "/A";
  o.faces_b = *root_ + "/B";
  o.model_dir = *root_ + "/" + name;
  o.batch_size = 8;
  o.seed = 5;
  o.threads = 1;
  o.loader_threads = 1;
  o.learning_rate = 5e-5;
  o.epsilon = 1e-3;
  o.precision = "fp32";
  o.iterations = 4;
  o.save_every = 2;
  o.snapshot_every = 2;
  o.preview_every = 0;
  o.log_every = 2;
  return o;
}

// Generations that fail before their first step (a member never arrives) are bounded: each
// doubles the collective timeout, and after max_failed_generations the run fails saying why and
// what to change, instead of looping.
TEST_F(DistTrainTest, GenerationsThatNeverStepEndTheRunAfterABound) {
  auto t = train::Trainer::Create(TinyElasticOptions("never-forms"));
  ASSERT_TRUE(t.ok()) << t.status();
  NeverForms group(testing::MakeTempDir("fsc-never-forms"));
  dist::ElasticOptions options;
  options.collective_timeout = absl::Milliseconds(100);
  options.connect_timeout = absl::Milliseconds(100);
  options.max_failed_generations = 3;
  std::vector<std::string> events;
  train::TrainCallbacks callbacks;
  callbacks.on_event = [&](const std::string& e) { events.push_back(e); };
  auto summary = dist::RunElastic(t->get(), &group, options, callbacks);
  ASSERT_EQ(summary.status().code(), absl::StatusCode::kFailedPrecondition) << summary.status();
  const std::string message(summary.status().message());
  EXPECT_NE(message.find("no progress in 3 generations"), std::string::npos) << message;
  EXPECT_NE(message.find("generation 2: connecting failed"), std::string::npos)
      << message;  // ids 0, 1, 2
  EXPECT_NE(message.find("--collective-timeout"), std::string::npos) << message;
  EXPECT_NE(message.find("rank 1 (absent-worker)"), std::string::npos) << message;
  int connects = 0;
  for (const std::string& e : events) connects += e.find("connecting failed") != std::string::npos;
  EXPECT_EQ(connects, 3);
}

TEST_F(DistTrainTest, ElasticRunReformsWhenTheGroupChangesAndStillMatches) {
  const std::string one = *root_ + "/elastic-one";
  CommandResult single = Fsc(Train(one, ""));
  ASSERT_EQ(single.exit_code, 0) << single.output;

  std::vector<std::unique_ptr<train::Trainer>> trainers;
  for (int r = 0; r < 2; ++r) {  // made here: seeded initialisation is not thread-safe
    auto t = train::Trainer::Create(TinyElasticOptions("elastic-rank" + std::to_string(r)));
    ASSERT_TRUE(t.ok()) << t.status();
    trainers.push_back(*std::move(t));
  }
  std::atomic<int64_t> latest{1};
  const std::string stores = testing::MakeTempDir("fsc-elastic");
  std::vector<absl::StatusOr<train::RunSummary>> results(2, absl::UnknownError("not run"));
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      TwoGenerations group(stores, r, &latest);
      train::TrainCallbacks callbacks;
      callbacks.on_step = [&, r](int64_t iteration, const train::StepLosses&) {
        if (r == 0 && iteration == 2) latest = 2;  // "a member joined"
      };
      dist::ElasticOptions options;
      options.bucket_bytes = 1 << 20;
      options.collective_timeout = absl::Seconds(60);
      results[r] = dist::RunElastic(trainers[r].get(), &group, options, callbacks);
    });
  }
  for (std::thread& t : threads) t.join();
  for (int r = 0; r < 2; ++r) {
    ASSERT_TRUE(results[r].ok()) << "rank " << r << ": " << results[r].status();
    EXPECT_EQ(results[r]->end_iteration, 4);
    EXPECT_EQ(results[r]->dist.generations, 2) << "rank " << r;
    EXPECT_EQ(results[r]->dist.final_rank0, r == 0);
    EXPECT_GT(results[r]->dist.allreduce_bytes, 0);
  }
  // Every member's model folder holds the final model, and it is the 1-process model's.
  int code = -1;
  nlohmann::json d = Diff(one, *root_ + "/elastic-rank0", &code);
  EXPECT_EQ(code, 0) << d.dump(2);
  d = Diff(*root_ + "/elastic-rank0", *root_ + "/elastic-rank1", &code);
  EXPECT_EQ(code, 0) << d.dump(2);
  EXPECT_EQ(d["max_abs"].get<double>(), 0) << "the members' models should be identical";
  // The generation ended at iteration 3 with a checkpoint (then 4 at the end).
  auto checkpoint = train::ReadCheckpoint(*root_ + "/elastic-rank1");
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  EXPECT_EQ(checkpoint->manifest.iteration, 4);
}

}  // namespace
}  // namespace fsc
