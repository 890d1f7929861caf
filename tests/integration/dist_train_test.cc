// Data-parallel training end to end with real processes: `fsc train --ranks N` (N processes of
// fsc over Gloo on 127.0.0.1) against a 1-process run of the same global batch, same seed and
// fp32: `fsc model diff` must find the weights equal within 1e-5 relative, for 2 ranks (even
// shards) and 3 ranks (8 rows do not divide by 3: weighted shards). Faces: the real extractor's
// output of the sample video, a tiny layout so that a run takes seconds.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

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
    ASSERT_TRUE(util::WriteFileAtomically(
                    *root_ + "/tiny.json",
                    R"({"name":"tiny","input_size":64,"encoder_filters":[16,32,64,128],)"
                    R"("dense_dim":64,"latent_size":4,"latent_channels":64,)"
                    R"("encoder_upscale":64,"decoder_filters":[64,32,16]})")
                    .ok());
  }
  static void TearDownTestSuite() {
    delete root_;
    root_ = nullptr;
  }
  // fp32 and one LibTorch thread per process; small buckets so that a step has several.
  static std::string Train(const std::string& model_dir, const std::string& extra) {
    return "train --architecture " + *root_ + "/tiny.json --a " + *root_ + "/A --b " + *root_ +
           "/B -m " + model_dir +
           " --batch 8 --seed 5 --threads 1 --loader-threads 1 --lr 1e-3 --precision fp32 "
           "--iterations 4 --save-every 2 --snapshot-every 2 --preview-every 0 --log-every 2 " +
           extra;
  }
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
  EXPECT_LE(d2["max_relative"].get<double>(), 1e-5);
  EXPECT_GT(d2["tensors"].size(), 10u);

  nlohmann::json d3 = Diff(one, three, &code);
  EXPECT_EQ(code, 0) << d3.dump(2);
  EXPECT_LE(d3["max_relative"].get<double>(), 1e-5);

  // The comparison is not blind: the model of 2 iterations (its snapshot) differs, exit 1.
  nlohmann::json early = Diff(one, one + "/snapshots/iter_000002", &code);
  EXPECT_EQ(code, 1) << early.dump(2);
  EXPECT_GT(early["max_relative"].get<double>(), 1e-4);
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

}  // namespace
}  // namespace fsc
