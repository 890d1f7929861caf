// Tests for BatchLoader on real extracted faces: tensor layout, batches that depend only on the
// seed and batch index (not on threads), epochs that are permutations, shards that split them,
// resume, and errors. A disabled test prints the loader's throughput:
//   batch_loader_test --gtest_also_run_disabled_tests --gtest_filter='*Throughput*'
#include "core/train/batch_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "tests/test_paths.h"

namespace fsc::train {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// Runs the real `fsc extract` on sample photos (names under DataDir()); returns the face folder.
std::string ExtractFaces(const std::vector<std::string>& photos) {
  const std::string input = fsc::testing::MakeTempDir("fsc-loader-in");
  for (const std::string& photo : photos) {
    fs::copy_file(fsc::testing::DataDir() + "/" + photo, input + "/" + photo);
  }
  const std::string output = fsc::testing::MakeTempDir("fsc-loader");
  const std::string command =
      fsc::testing::BinDir() + "/fsc extract " + input + " -o " + output + " >/dev/null 2>&1";
  EXPECT_EQ(std::system(command.c_str()), 0) << command << " failed (is the fsc target built?)";
  return output;
}

bool Equal(const Batch& a, const Batch& b) {
  return a.index == b.index && a.faces == b.faces && torch::equal(a.input, b.input) &&
         torch::equal(a.target, b.target) && torch::equal(a.landmarks, b.landmarks) &&
         a.mask.defined() == b.mask.defined() &&
         (!a.mask.defined() || torch::equal(a.mask, b.mask));
}

std::unique_ptr<BatchLoader> MakeLoader(const FaceSet* a, const FaceSet* b,
                                        const BatchLoaderOptions& options) {
  auto loader = BatchLoader::Create(a, b, options);
  EXPECT_TRUE(loader.ok()) << loader.status();
  return loader.ok() ? *std::move(loader) : nullptr;
}

Batch NextOk(BatchLoader& loader, Side side) {
  auto batch = loader.Next(side);
  EXPECT_TRUE(batch.ok()) << batch.status();
  return batch.ok() ? *std::move(batch) : Batch();
}

class BatchLoaderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Side A: the people of two photos; side B: of two others.
    auto a = FaceSet::Load(ExtractFaces({"sample1.jpg", "sample2.jpg"}));
    ASSERT_TRUE(a.ok()) << a.status();
    auto b = FaceSet::Load(ExtractFaces({"sample3.jpg", "sample4.jpg"}));
    ASSERT_TRUE(b.ok()) << b.status();
    a_ = new FaceSet(*std::move(a));
    b_ = new FaceSet(*std::move(b));
  }
  static void TearDownTestSuite() {
    delete a_;
    delete b_;
  }
  static BatchLoaderOptions SmallOptions() {
    BatchLoaderOptions options;
    options.batch_size = 4;
    options.seed = 1234;
    options.augment.size = 64;
    return options;
  }
  static FaceSet* a_;
  static FaceSet* b_;
};
FaceSet* BatchLoaderTest::a_ = nullptr;
FaceSet* BatchLoaderTest::b_ = nullptr;

TEST_F(BatchLoaderTest, BatchesHaveTheDocumentedLayout) {
  ASSERT_GE(a_->size(), 4);
  ASSERT_GE(b_->size(), 4);
  BatchLoaderOptions options = SmallOptions();
  auto loader = MakeLoader(a_, b_, options);
  ASSERT_NE(loader, nullptr);
  EXPECT_EQ(loader->num_faces(Side::kA), a_->size());
  for (Side side : {Side::kA, Side::kB}) {
    const Batch batch = NextOk(*loader, side);
    EXPECT_EQ(batch.side, side);
    EXPECT_EQ(batch.index, 0);
    EXPECT_EQ(batch.epoch, 0);
    EXPECT_EQ(batch.input.sizes(), (std::vector<int64_t>{4, 3, 64, 64}));
    EXPECT_EQ(batch.target.sizes(), (std::vector<int64_t>{4, 3, 64, 64}));
    EXPECT_EQ(batch.mask.sizes(), (std::vector<int64_t>{4, 1, 64, 64}));
    EXPECT_EQ(batch.landmarks.sizes(), (std::vector<int64_t>{4, 68, 2}));
    for (const torch::Tensor& t : {batch.input, batch.target, batch.mask, batch.landmarks}) {
      EXPECT_EQ(t.scalar_type(), torch::kFloat32);
      EXPECT_TRUE(t.is_contiguous());
    }
    EXPECT_GE(batch.input.min().item<float>(), 0);
    EXPECT_LE(batch.input.max().item<float>(), 1);
    EXPECT_GT(batch.mask.mean().item<float>(), 0.1);
    ASSERT_EQ(batch.faces.size(), 4u);

    // Sample j is exactly AugmentSample of its face with the Rng of (seed, side, epoch, offset),
    // converted to RGB planes in 0..1.
    const FaceSet& set = side == Side::kA ? *a_ : *b_;
    for (int j = 0; j < 4; ++j) {
      const PreparedFace prepared =
          PrepareFace(set[batch.faces[j]], options.augment, options.mask_type);
      Rng rng =
          Rng::ForKey({options.seed, static_cast<uint64_t>(side), 0, static_cast<uint64_t>(j)});
      AugmentedSample sample;
      AugmentSample(prepared, options.augment, DrawSampleParams(options.augment, rng), &sample);
      for (int c = 0; c < 3; ++c) {  // tensor channel c is BGR channel 2 - c
        cv::Mat channel;
        cv::extractChannel(sample.input, channel, 2 - c);
        channel.convertTo(channel, CV_32F, 1.0 / 255);
        const torch::Tensor plane = batch.input[j][c].contiguous();
        const cv::Mat wrapped(64, 64, CV_32F, plane.data_ptr<float>());
        EXPECT_LT(cv::norm(wrapped, channel, cv::NORM_INF), 1e-6) << "channel " << c;
      }
      EXPECT_NEAR(batch.landmarks[j][36][0].item<float>(), sample.landmarks[36].x, 1e-5);
      EXPECT_NEAR(batch.landmarks[j][36][1].item<float>(), sample.landmarks[36].y, 1e-5);
      EXPECT_NEAR(batch.mask[j][0].mean().item<float>(), cv::mean(sample.mask)[0] / 255, 1e-5);
    }
  }
}

TEST_F(BatchLoaderTest, SameBatchesWithOneOrThreeThreads) {
  BatchLoaderOptions options = SmallOptions();
  options.threads = 1;
  auto one = MakeLoader(a_, b_, options);
  options.threads = 3;
  options.prefetch = 6;
  auto three = MakeLoader(a_, b_, options);
  ASSERT_TRUE(one && three);
  // Different consumption orders too: the batch only depends on (seed, side, index).
  std::vector<Batch> from_one_a, from_one_b, from_three_a, from_three_b;
  for (int k = 0; k < 8; ++k) {
    from_one_a.push_back(NextOk(*one, Side::kA));
    from_one_b.push_back(NextOk(*one, Side::kB));
  }
  for (int k = 0; k < 8; ++k) from_three_b.push_back(NextOk(*three, Side::kB));
  for (int k = 0; k < 8; ++k) from_three_a.push_back(NextOk(*three, Side::kA));
  for (int k = 0; k < 8; ++k) {
    EXPECT_EQ(from_one_a[k].index, k);
    EXPECT_TRUE(Equal(from_one_a[k], from_three_a[k])) << "A batch " << k;
    EXPECT_TRUE(Equal(from_one_b[k], from_three_b[k])) << "B batch " << k;
  }
  EXPECT_FALSE(torch::equal(from_one_a[0].input, from_one_a[1].input));
}

TEST_F(BatchLoaderTest, SeedChangesBatches) {
  BatchLoaderOptions options = SmallOptions();
  auto first = MakeLoader(a_, nullptr, options);
  options.seed += 1;
  auto second = MakeLoader(a_, nullptr, options);
  const Batch x = NextOk(*first, Side::kA), y = NextOk(*second, Side::kA);
  EXPECT_FALSE(torch::equal(x.target, y.target));
}

TEST_F(BatchLoaderTest, EveryEpochIsAPermutation) {
  BatchLoaderOptions options = SmallOptions();
  options.batch_size = 3;  // not a divisor of the set size: batches straddle epochs
  options.augment.augment = false;
  auto loader = MakeLoader(a_, nullptr, options);
  const int64_t n = a_->size();
  std::vector<int64_t> stream;
  while (static_cast<int64_t>(stream.size()) < 3 * n) {
    const Batch batch = NextOk(*loader, Side::kA);
    EXPECT_EQ(batch.epoch, static_cast<int64_t>(stream.size()) / n);
    stream.insert(stream.end(), batch.faces.begin(), batch.faces.end());
  }
  std::vector<std::vector<int64_t>> epochs;
  for (int e = 0; e < 3; ++e) {
    std::vector<int64_t> epoch(stream.begin() + e * n, stream.begin() + (e + 1) * n);
    std::vector<int64_t> sorted = epoch;
    std::sort(sorted.begin(), sorted.end());
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(sorted[i], i) << "epoch " << e;
    epochs.push_back(epoch);
  }
  EXPECT_NE(epochs[0], epochs[1]);  // reshuffled every epoch
  EXPECT_NE(epochs[1], epochs[2]);
}

TEST_F(BatchLoaderTest, ShardsAreDisjointCoverEachEpochAndMatchTheWholeBatch) {
  constexpr int kWorld = 3;
  BatchLoaderOptions options = SmallOptions();
  options.batch_size = 2;
  ASSERT_GE(a_->size(), 2 * kWorld);
  // One rank with the global batch...
  BatchLoaderOptions whole_options = options;
  whole_options.batch_size = options.batch_size * kWorld;
  auto whole = MakeLoader(a_, nullptr, whole_options);
  std::vector<std::unique_ptr<BatchLoader>> ranks;
  for (int r = 0; r < kWorld; ++r) {
    BatchLoaderOptions rank_options = options;
    rank_options.rank = r;
    rank_options.world_size = kWorld;
    ranks.push_back(MakeLoader(a_, nullptr, rank_options));
  }
  const int64_t n = a_->size();
  std::vector<int64_t> stream;  // faces in global stream order, assembled from the ranks
  for (int k = 0; static_cast<int64_t>(stream.size()) < 2 * n; ++k) {
    const Batch global = NextOk(*whole, Side::kA);
    for (int r = 0; r < kWorld; ++r) {
      const Batch part = NextOk(*ranks[r], Side::kA);
      // ...is the concatenation of the ranks' batches, augmentation included.
      const auto rows = torch::indexing::Slice(r * 2, r * 2 + 2);
      EXPECT_TRUE(torch::equal(part.input, global.input.index({rows}))) << k << " " << r;
      EXPECT_TRUE(torch::equal(part.target, global.target.index({rows}))) << k << " " << r;
      EXPECT_TRUE(torch::equal(part.mask, global.mask.index({rows}))) << k << " " << r;
      stream.insert(stream.end(), part.faces.begin(), part.faces.end());
    }
  }
  // Within each epoch the ranks' parts are disjoint and cover the set.
  for (int e = 0; e < 2; ++e) {
    std::set<int64_t> seen(stream.begin() + e * n, stream.begin() + (e + 1) * n);
    EXPECT_EQ(static_cast<int64_t>(seen.size()), n) << "epoch " << e;
  }
}

TEST_F(BatchLoaderTest, GlobalBatchShardsUnevenlyAndMatchesTheWholeBatch) {
  // A global batch of 5 on 3 ranks: rows [0, 1), [1, 3), [3, 5) (r·G/w .. (r+1)·G/w).
  constexpr int kWorld = 3;
  constexpr int64_t kGlobal = 5;
  ASSERT_GE(a_->size(), kGlobal);
  BatchLoaderOptions options = SmallOptions();
  options.global_batch = kGlobal;
  auto whole = MakeLoader(a_, nullptr, options);
  ASSERT_EQ(whole->rows(), kGlobal);
  const int64_t begin[] = {0, 1, 3, 5};
  std::vector<std::unique_ptr<BatchLoader>> ranks;
  for (int r = 0; r < kWorld; ++r) {
    BatchLoaderOptions rank_options = options;
    rank_options.rank = r;
    rank_options.world_size = kWorld;
    rank_options.first_batch = 1;  // from the second global batch, as after a re-shard
    ranks.push_back(MakeLoader(a_, nullptr, rank_options));
    EXPECT_EQ(ranks[r]->first_row(), begin[r]);
    EXPECT_EQ(ranks[r]->rows(), begin[r + 1] - begin[r]);
  }
  NextOk(*whole, Side::kA);  // global batch 0
  for (int k = 1; k < 4; ++k) {
    const Batch global = NextOk(*whole, Side::kA);
    for (int r = 0; r < kWorld; ++r) {
      const Batch part = NextOk(*ranks[r], Side::kA);
      EXPECT_EQ(part.index, k);
      const auto rows = torch::indexing::Slice(begin[r], begin[r + 1]);
      EXPECT_TRUE(torch::equal(part.input, global.input.index({rows}))) << k << " " << r;
      EXPECT_TRUE(torch::equal(part.target, global.target.index({rows}))) << k << " " << r;
    }
  }
  // More ranks than rows is refused.
  BatchLoaderOptions too_many = options;
  too_many.world_size = 8;
  EXPECT_EQ(BatchLoader::Create(a_, nullptr, too_many).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(BatchLoaderTest, FirstBatchResumesTheStream) {
  BatchLoaderOptions options = SmallOptions();
  auto fresh = MakeLoader(a_, b_, options);
  options.first_batch = 5;
  auto resumed = MakeLoader(a_, b_, options);
  for (int k = 0; k < 5; ++k) NextOk(*fresh, Side::kB);
  for (int k = 0; k < 3; ++k) {
    const Batch expected = NextOk(*fresh, Side::kB);
    const Batch got = NextOk(*resumed, Side::kB);
    EXPECT_EQ(got.index, 5 + k);
    EXPECT_TRUE(Equal(expected, got)) << k;
  }
}

TEST_F(BatchLoaderTest, LoadersShareFacesPreparedOnceAndReshardThem) {
  // What a trainer does at a rollback or a new shard: a new loader over the same prepared faces.
  BatchLoaderOptions options = SmallOptions();
  options.global_batch = 4;
  std::shared_ptr<const PreparedFaces> a =
      PreparedFaces::Make(*a_, options.augment, options.mask_type, 2);
  std::shared_ptr<const PreparedFaces> b =
      PreparedFaces::Make(*b_, options.augment, options.mask_type, 2);
  ASSERT_EQ(a->size(), a_->size());
  auto from_sets = MakeLoader(a_, b_, options);
  BatchLoaderOptions shard = options;
  shard.rank = 1;
  shard.world_size = 2;
  shard.first_batch = 2;
  auto whole = BatchLoader::Create(a, b, options);
  auto half = BatchLoader::Create(a, b, shard);
  ASSERT_TRUE(whole.ok()) << whole.status();
  ASSERT_TRUE(half.ok()) << half.status();
  EXPECT_EQ(a.use_count(), 3);  // shared, not copied
  for (int k = 0; k < 4; ++k) {
    const Batch expected = NextOk(*from_sets, Side::kA);
    EXPECT_TRUE(Equal(expected, NextOk(**whole, Side::kA))) << k;
    if (k < 2) continue;
    const Batch part = NextOk(**half, Side::kA);
    EXPECT_TRUE(torch::equal(part.input, expected.input.index({torch::indexing::Slice(2, 4)})))
        << k;
  }
  // Faces prepared for another model size or mask are refused, not silently used.
  BatchLoaderOptions other = options;
  other.augment.size = 128;
  absl::Status refused = BatchLoader::Create(a, b, other).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.message().find(a_->dir()), std::string::npos) << refused;
  EXPECT_NE(refused.message().find("ask for 128 px"), std::string::npos) << refused;
  EXPECT_NE(refused.message().find("prepare them again"), std::string::npos) << refused;
  other = options;
  other.mask_type = std::nullopt;
  EXPECT_EQ(BatchLoader::Create(a, b, other).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(BatchLoaderTest, ReadingOneSideNeverStalls) {
  BatchLoaderOptions options = SmallOptions();
  options.threads = 2;
  options.prefetch = 2;
  auto loader = MakeLoader(a_, b_, options);
  for (int k = 0; k < 12; ++k) EXPECT_EQ(NextOk(*loader, Side::kA).index, k);
  const LoaderStats stats = loader->stats();
  EXPECT_EQ(stats.batches_delivered, 12);
  EXPECT_GE(stats.batches_produced, 12);
  EXPECT_LE(stats.batches_produced, 12 + 2 * options.prefetch);
  EXPECT_LE(stats.waits, 12);
  EXPECT_GE(stats.wait_seconds, 0);
  EXPECT_GT(stats.produce_seconds, 0);
}

TEST_F(BatchLoaderTest, NoMasksWhenNotAsked) {
  BatchLoaderOptions options = SmallOptions();
  options.mask_type.reset();
  auto loader = MakeLoader(a_, nullptr, options);
  const Batch batch = NextOk(*loader, Side::kA);
  EXPECT_FALSE(batch.mask.defined());
  EXPECT_TRUE(batch.input.defined());
}

TEST_F(BatchLoaderTest, WeightMapsAreMadeOnTheWorkers) {
  BatchLoaderOptions options = SmallOptions();
  options.weight_map = [](const AugmentedSample& sample) -> absl::StatusOr<cv::Mat> {
    cv::Mat weight;
    sample.mask.convertTo(weight, CV_32F, 2.0 / 255);  // twice the mask
    return weight;
  };
  auto loader = MakeLoader(a_, nullptr, options);
  const Batch batch = NextOk(*loader, Side::kA);
  ASSERT_TRUE(batch.weight.defined());
  EXPECT_EQ(batch.weight.sizes(), batch.mask.sizes());
  EXPECT_TRUE(torch::allclose(batch.weight, 2 * batch.mask));

  options.weight_map = [](const AugmentedSample&) -> absl::StatusOr<cv::Mat> {
    return absl::InvalidArgumentError("no weights today");
  };
  auto failing = MakeLoader(a_, nullptr, options);
  auto failed = failing->Next(Side::kA);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(failed.status().message(), HasSubstr("no weights today"));
  EXPECT_THAT(failed.status().message(), HasSubstr("batch 0 of side A"));
}

TEST_F(BatchLoaderTest, DestroysCleanlyWithWorkBuffered) {
  BatchLoaderOptions options = SmallOptions();
  options.threads = 3;
  options.prefetch = 8;
  for (int round = 0; round < 3; ++round) {
    auto loader = MakeLoader(a_, b_, options);
    if (round > 0) NextOk(*loader, Side::kA);
    loader.reset();  // joins the workers, some mid-batch
  }
}

TEST_F(BatchLoaderTest, Errors) {
  BatchLoaderOptions options = SmallOptions();
  auto none = BatchLoader::Create(nullptr, nullptr, options);
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);

  options.batch_size = static_cast<int>(a_->size()) + 1;
  auto too_big = BatchLoader::Create(a_, nullptr, options);
  ASSERT_FALSE(too_big.ok());
  EXPECT_THAT(too_big.status().message(), HasSubstr("fewer than the batch"));
  EXPECT_THAT(too_big.status().message(), HasSubstr(a_->dir()));

  options = SmallOptions();
  options.world_size = 2;
  options.rank = 2;
  EXPECT_FALSE(BatchLoader::Create(a_, nullptr, options).ok());
  options = SmallOptions();
  options.augment.coverage = 2;
  EXPECT_FALSE(BatchLoader::Create(a_, nullptr, options).ok());

  auto only_a = MakeLoader(a_, nullptr, SmallOptions());
  auto b = only_a->Next(Side::kB);
  EXPECT_EQ(b.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(only_a->num_faces(Side::kB), 0);
}

TEST_F(BatchLoaderTest, PlainBatchIsTheCoverageCrop) {
  BatchLoaderOptions options = SmallOptions();
  auto batch = MakePlainBatch(*a_, Side::kA, {2, 0}, options);
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(batch->input.sizes(), (std::vector<int64_t>{2, 3, 64, 64}));
  EXPECT_TRUE(torch::equal(batch->input, batch->target));
  EXPECT_EQ(batch->faces, (std::vector<int64_t>{2, 0}));
  const PreparedFace prepared = PrepareFace((*a_)[2], options.augment, options.mask_type);
  EXPECT_NEAR(batch->landmarks[0][30][0].item<float>(), prepared.landmarks[30].x, 1e-5);
  EXPECT_FALSE(MakePlainBatch(*a_, Side::kA, {a_->size()}, options).ok());
}

// Prints batches/s for 64 and 128 px, batch 16, 1 and 2 threads, consuming as fast as possible
// (a training step would take longer, so this is the loader's ceiling). Not a timed assertion.
TEST_F(BatchLoaderTest, DISABLED_Throughput) {
  auto all = FaceSet::Load(ExtractFaces({"sample1.jpg", "sample2.jpg", "sample3.jpg", "sample4.jpg",
                                         "sample5.jpg", "sample6.jpg", "astronaut.png"}));
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_GE(all->size(), 16);
  std::printf("%lld faces\n", static_cast<long long>(all->size()));
  for (int size : {64, 128}) {
    for (int threads : {1, 2}) {
      BatchLoaderOptions options;
      options.batch_size = 16;
      options.threads = threads;
      options.prefetch = 2 * threads;
      options.augment.size = size;
      auto loader = MakeLoader(&*all, &*all, options);
      for (int k = 0; k < 4; ++k) NextOk(*loader, static_cast<Side>(k % 2));  // warm up
      constexpr int kBatches = 200;
      const auto start = std::chrono::steady_clock::now();
      for (int k = 0; k < kBatches; ++k) NextOk(*loader, static_cast<Side>(k % 2));
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const LoaderStats stats = loader->stats();
      std::printf("size %3d batch %d threads %d: %.1f batches/s, %.2f ms worker time per batch\n",
                  size, options.batch_size, threads, kBatches / seconds,
                  1e3 * stats.produce_seconds / stats.batches_produced);
    }
  }
}

}  // namespace
}  // namespace fsc::train
