// Checkpoints: a round trip restores weights and optimiser state exactly (the next step matches),
// the training state lives in state/ apart from the weights (a weights-only copy loads for
// conversion and is refused for training, saying why), format 1 folders still read, and
// truncated, corrupted, foreign or malformed checkpoints are refused with errors naming the
// file. The training state as a value: equal digests for equal states, a layout + bytes round
// trip, and a digest that catches a changed byte. Uses a tiny layout so that the file runs in
// seconds.
#include "core/train/checkpoint.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/train/train_step.h"
#include "core/train/training_state.h"
#include "core/util/file_io.h"
#include "tests/test_paths.h"

namespace fsc::train {
namespace {

namespace fs = std::filesystem;

model::Architecture TinyArchitecture(int64_t dense = 32) {
  model::Architecture a;
  a.name = "tiny";
  a.input_size = 64;
  a.encoder_filters = {8, 16, 32, 64};
  a.dense_dim = dense;
  a.latent_size = 4;
  a.latent_channels = 32;
  a.encoder_upscale = 32;
  a.decoder_filters = {32, 16, 8};
  return a;
}

TrainOptions TinyOptions(int64_t seed, int64_t dense = 32) {
  TrainOptions o;
  o.architecture = TinyArchitecture(dense);
  o.model = "tiny";
  o.seed = seed;
  o.threads = 1;
  o.batch_size = 2;
  o.learning_rate = 1e-3;
  return o;
}

Batch RandomBatch(Side side, int64_t seed) {
  torch::manual_seed(seed);
  Batch b;
  b.side = side;
  b.input = torch::rand({2, 3, 64, 64});
  b.target = torch::rand({2, 3, 64, 64});
  return b;
}

// A checkpoint of `step` in `dir` at `iteration`.
CheckpointManifest Save(TrainStep& step, const std::string& dir, int64_t iteration,
                        const CheckpointWriteOptions& write = {}) {
  CheckpointManifest m;
  m.model = step.model().name();
  m.architecture = step.model().architecture();
  m.model_options = step.model().options();
  m.iteration = iteration;
  m.next_batch = iteration;
  std::map<std::string, std::string> blobs;
  blobs["weights"] = *SerializeTensors(step.ModelTensors());
  blobs["optimizer"] = *SerializeTensors(step.OptimizerTensors());
  auto written = WriteCheckpoint(dir, m, blobs, write);
  EXPECT_TRUE(written.ok()) << written.status();
  return *written;
}

void ExpectSameTensors(const NamedTensors& x, const NamedTensors& y) {
  ASSERT_EQ(x.size(), y.size());
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(x[i].first, y[i].first);
    EXPECT_TRUE(torch::equal(x[i].second, y[i].second)) << x[i].first;
  }
}

TEST(CheckpointTest, RoundTripRestoresWeightsAndOptimizerExactly) {
  const std::string dir = testing::MakeTempDir("fsc-ckpt");
  auto step = TrainStep::Create(TinyOptions(1));
  ASSERT_TRUE(step.ok()) << step.status();
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE((*step)->Run(RandomBatch(Side::kA, i), RandomBatch(Side::kB, 100 + i)).ok());
  }
  CheckpointManifest written = Save(**step, dir, 2);
  EXPECT_EQ(written.files.size(), 2u);

  auto loaded = ReadCheckpoint(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->manifest.iteration, 2);
  EXPECT_EQ(loaded->manifest.model, "tiny");
  EXPECT_TRUE(SameArchitecture(loaded->manifest.architecture, TinyArchitecture()));

  // A model built from another seed takes the saved state...
  auto other = TrainStep::Create(TinyOptions(7));
  ASSERT_TRUE(other.ok());
  auto weights = ParseTensors(loaded->blobs.at("weights"), "weights");
  auto optimizer = ParseTensors(loaded->blobs.at("optimizer"), "optimizer");
  ASSERT_TRUE(weights.ok() && optimizer.ok());
  ASSERT_TRUE((*other)->LoadModel(*weights, "weights").ok());
  ASSERT_TRUE((*other)->LoadOptimizers(*optimizer, "optimizer", false).ok());
  EXPECT_EQ((*other)->steps(), 2);
  ExpectSameTensors((*step)->ModelTensors(), (*other)->ModelTensors());
  ExpectSameTensors((*step)->OptimizerTensors(), (*other)->OptimizerTensors());
  // ...and the next step gives identical weights.
  ASSERT_TRUE((*step)->Run(RandomBatch(Side::kA, 5), RandomBatch(Side::kB, 6)).ok());
  ASSERT_TRUE((*other)->Run(RandomBatch(Side::kA, 5), RandomBatch(Side::kB, 6)).ok());
  ExpectSameTensors((*step)->ModelTensors(), (*other)->ModelTensors());
}

TEST(CheckpointTest, TheTrainingStateLivesApartFromTheWeights) {
  const std::string dir = testing::MakeTempDir("fsc-ckpt");
  auto step = TrainStep::Create(TinyOptions(1));
  ASSERT_TRUE(step.ok());
  CheckpointManifest written = Save(**step, dir, 4);
  EXPECT_EQ(written.format_version, kCheckpointFormatVersion);
  EXPECT_EQ(written.files.at("weights").name, "weights_000004.pt");
  EXPECT_EQ(written.files.at("optimizer").name, "state/optimizer_000004.pt");
  EXPECT_TRUE(util::IsTrainingStatePath(written.files.at("optimizer").name));
  EXPECT_FALSE(util::IsTrainingStatePath(written.files.at("weights").name));
  EXPECT_TRUE(fs::exists(dir + "/state/optimizer_000004.pt"));
  // The next checkpoint replaces the state file too.
  Save(**step, dir, 5);
  EXPECT_FALSE(fs::exists(dir + "/state/optimizer_000004.pt"));
  EXPECT_TRUE(fs::exists(dir + "/state/optimizer_000005.pt"));

  // A copy with the weights alone (what convert and a plain `fsc fetch` get).
  const std::string weights_only = testing::MakeTempDir("fsc-ckpt-weights");
  fs::copy_file(dir + "/" + util::kManifestFile, weights_only + "/" + util::kManifestFile);
  fs::copy_file(dir + "/weights_000005.pt", weights_only + "/weights_000005.pt");
  auto weights = ReadCheckpoint(weights_only, CheckpointScope::kWeights);
  ASSERT_TRUE(weights.ok()) << weights.status();
  EXPECT_EQ(weights->blobs.count("weights"), 1u);
  EXPECT_EQ(weights->blobs.count("optimizer"), 0u);
  auto all = ReadCheckpoint(weights_only);
  EXPECT_EQ(all.status().code(), absl::StatusCode::kFailedPrecondition) << all.status();
  EXPECT_NE(all.status().message().find("--with-state"), std::string::npos) << all.status();

  // Format 1: every file beside the manifest.
  const std::string old = testing::MakeTempDir("fsc-ckpt-v1");
  nlohmann::json manifest = nlohmann::json::parse(*util::ReadFile(dir + "/" + util::kManifestFile));
  manifest["format_version"] = 1;
  manifest["files"]["optimizer"]["name"] = "optimizer_000005.pt";
  fs::copy_file(dir + "/weights_000005.pt", old + "/weights_000005.pt");
  fs::copy_file(dir + "/state/optimizer_000005.pt", old + "/optimizer_000005.pt");
  ASSERT_TRUE(util::WriteFileAtomically(old + "/" + util::kManifestFile, manifest.dump()).ok());
  auto v1 = ReadCheckpoint(old);
  ASSERT_TRUE(v1.ok()) << v1.status();
  EXPECT_EQ(v1->blobs.at("optimizer"), *util::ReadFile(dir + "/state/optimizer_000005.pt"));
  // ...where a state/ path is not a valid name.
  manifest["files"]["optimizer"]["name"] = "state/optimizer_000005.pt";
  ASSERT_TRUE(util::WriteFileAtomically(old + "/" + util::kManifestFile, manifest.dump()).ok());
  EXPECT_EQ(ReadCheckpoint(old).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TrainingStateTest, DigestLayoutAndBytesRoundTrip) {
  auto step = TrainStep::Create(TinyOptions(1));
  auto same = TrainStep::Create(TinyOptions(1));
  auto other = TrainStep::Create(TinyOptions(2));
  ASSERT_TRUE(step.ok() && same.ok() && other.ok());
  const auto roles = [](TrainStep& s) {
    return std::map<std::string, NamedTensors>{{"weights", s.ModelTensors()},
                                               {"optimizer", s.OptimizerTensors()}};
  };
  TrainingState a = CopyState(0, nlohmann::json::array(), roles(**step));
  TrainingState b = CopyState(0, nlohmann::json::array({{{"x", 1}}}), roles(**same));
  TrainingState c = CopyState(0, nlohmann::json::array(), roles(**other));
  EXPECT_EQ(a.digest.size(), 64u);
  EXPECT_EQ(a.digest, b.digest) << "the same seed is the same state (the history is not digested)";
  EXPECT_NE(a.digest, c.digest);
  EXPECT_NE(a.digest, CopyState(1, nlohmann::json::array(), roles(**step)).digest);
  EXPECT_GT(a.bytes(), 0);

  // Layout + bytes, as a receiver gets them, make the same state.
  auto received = AllocateState(StateLayout(a), "test");
  ASSERT_TRUE(received.ok()) << received.status();
  std::vector<std::pair<void*, size_t>> from = StateSpans(&a), to = StateSpans(&*received);
  ASSERT_EQ(from.size(), to.size());
  for (size_t i = 0; i < from.size(); ++i) {
    ASSERT_EQ(from[i].second, to[i].second);
    std::memcpy(to[i].first, from[i].first, from[i].second);
  }
  EXPECT_TRUE(CheckDigest(*received, "received").ok());
  static_cast<char*>(to.back().first)[0] ^= 1;
  EXPECT_EQ(CheckDigest(*received, "received").code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(AllocateState("not json", "x").status().code(), absl::StatusCode::kDataLoss);
}

TEST(CheckpointTest, KeepsTheNewestSnapshotsAndOnlyCurrentDataFiles) {
  const std::string dir = testing::MakeTempDir("fsc-ckpt");
  auto step = TrainStep::Create(TinyOptions(1));
  ASSERT_TRUE(step.ok());
  CheckpointWriteOptions write;
  write.snapshot = true;
  write.keep_snapshots = 2;
  for (int it : {10, 20, 30}) Save(**step, dir, it, write);
  std::vector<std::string> snapshots = ListSnapshots(dir);
  ASSERT_EQ(snapshots.size(), 2u);
  EXPECT_EQ(fs::path(snapshots[0]).filename(), "iter_000020");
  EXPECT_EQ(fs::path(snapshots[1]).filename(), "iter_000030");
  EXPECT_TRUE(ReadCheckpoint(snapshots[0]).ok());
  EXPECT_TRUE(fs::exists(dir + "/weights_000030.pt"));
  EXPECT_FALSE(fs::exists(dir + "/weights_000020.pt"));
  EXPECT_EQ(ReadCheckpoint(dir)->manifest.iteration, 30);
}

TEST(CheckpointTest, RefusesTruncatedCorruptedAndMissingFiles) {
  const std::string dir = testing::MakeTempDir("fsc-ckpt");
  auto step = TrainStep::Create(TinyOptions(1));
  ASSERT_TRUE(step.ok());
  CheckpointManifest m = Save(**step, dir, 3);
  const std::string weights = dir + "/" + m.files.at("weights").name;
  const std::string good = *util::ReadFile(weights);

  ASSERT_TRUE(util::WriteFileAtomically(weights, good.substr(0, good.size() / 2)).ok());
  auto truncated = ReadCheckpoint(dir);
  EXPECT_EQ(truncated.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(truncated.status().message().find(weights), std::string::npos);
  EXPECT_NE(truncated.status().message().find("truncated"), std::string::npos);

  std::string flipped = good;
  flipped[flipped.size() / 2] ^= 0x55;
  ASSERT_TRUE(util::WriteFileAtomically(weights, flipped).ok());
  auto corrupted = ReadCheckpoint(dir);
  EXPECT_EQ(corrupted.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(corrupted.status().message().find(weights), std::string::npos);
  EXPECT_NE(corrupted.status().message().find("corrupted"), std::string::npos);

  fs::remove(weights);
  EXPECT_EQ(ReadCheckpoint(dir).status().code(), absl::StatusCode::kDataLoss);

  ASSERT_TRUE(util::WriteFileAtomically(weights, good).ok());
  EXPECT_TRUE(ReadCheckpoint(dir).ok());
  // A truncated manifest.
  const std::string manifest = dir + "/" + util::kManifestFile;
  std::string text = *util::ReadFile(manifest);
  ASSERT_TRUE(util::WriteFileAtomically(manifest, text.substr(0, text.size() / 2)).ok());
  auto bad_manifest = ReadCheckpoint(dir);
  EXPECT_EQ(bad_manifest.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(bad_manifest.status().message().find(manifest), std::string::npos);
  // Valid JSON that is not a checkpoint manifest.
  ASSERT_TRUE(util::WriteFileAtomically(manifest, "{\"hello\": 1}").ok());
  EXPECT_EQ(ReadCheckpoint(dir).status().code(), absl::StatusCode::kInvalidArgument);
  // No checkpoint at all.
  EXPECT_EQ(ReadCheckpoint(testing::MakeTempDir("fsc-empty")).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(CheckpointTest, RefusesWeightsOfAnotherArchitecture) {
  auto small = TrainStep::Create(TinyOptions(1, 32));
  auto wide = TrainStep::Create(TinyOptions(1, 48));
  ASSERT_TRUE(small.ok() && wide.ok());
  auto weights = ParseTensors(*SerializeTensors((*small)->ModelTensors()), "w.pt");
  ASSERT_TRUE(weights.ok());
  NamedTensors before = (*wide)->ModelTensors();
  std::vector<torch::Tensor> copies;
  for (auto& [name, t] : before) copies.push_back(t.clone());
  absl::Status status = (*wide)->LoadModel(*weights, "/x/weights_000001.pt");
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find("/x/weights_000001.pt"), std::string::npos);
  EXPECT_NE(status.message().find("encoder.dense0.weight"), std::string::npos) << status;
  // Nothing was changed.
  for (size_t i = 0; i < before.size(); ++i) EXPECT_TRUE(torch::equal(before[i].second, copies[i]));

  auto optimizer = ParseTensors(*SerializeTensors((*small)->OptimizerTensors()), "o.pt");
  EXPECT_EQ((*wide)->LoadOptimizers(*optimizer, "o.pt", false).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ParseTensors("not an archive", "junk.pt").status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace fsc::train
