// fsc train end to end on faces the real `fsc extract` makes from the sample video (A) and the
// sample photos (B), with a tiny layout (--architecture) so that the file stays quick: the loss
// goes down, a resumed run ends bit for bit where an uninterrupted one does, the GAN run writes
// discriminator state, the preview has the 6-column layout, bad input is refused, and
// `fsc bench train --json` parses.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "core/train/checkpoint.h"
#include "core/train/preview.h"
#include "core/train/train_step.h"
#include "core/util/file_io.h"
#include "tests/test_paths.h"

namespace fsc {
namespace {

namespace fs = std::filesystem;

using testing::CommandResult;
using testing::RunCommand;

// stdout only (for --json), stderr discarded.
CommandResult Fsc(const std::string& arguments, bool with_stderr = true) {
  return RunCommand(testing::BinDir() + "/fsc " + arguments +
                    (with_stderr ? " 2>&1" : " 2>/dev/null"));
}

class TrainTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new std::string(testing::MakeTempDir("fsc-train"));
    CommandResult a =
        Fsc("extract " + testing::DataDir() + "/Megamind.avi -o " + *root_ + "/A --every-n 10");
    ASSERT_EQ(a.exit_code, 0) << a.output;
    fs::create_directories(*root_ + "/photos");
    for (const char* name : {"sample1.jpg", "sample2.jpg", "sample3.jpg", "astronaut.png"}) {
      fs::copy_file(testing::DataDir() + "/" + name, *root_ + "/photos/" + name);
    }
    CommandResult b = Fsc("extract " + *root_ + "/photos -o " + *root_ + "/B");
    ASSERT_EQ(b.exit_code, 0) << b.output;
    ASSERT_TRUE(testing::WriteTinyArchitecture(*root_ + "/tiny.json"));
  }
  static void TearDownTestSuite() {
    delete root_;
    root_ = nullptr;
  }
  static std::string Common() {
    return " --architecture " + *root_ + "/tiny.json --a " + *root_ + "/A --b " + *root_ +
           "/B --batch 4 --seed 3 --threads 2 --lr 1e-3 ";
  }
  static std::string* root_;
};
std::string* TrainTest::root_ = nullptr;

std::map<std::string, torch::Tensor> Weights(const std::string& dir) {
  auto checkpoint = train::ReadCheckpoint(dir);
  EXPECT_TRUE(checkpoint.ok()) << checkpoint.status();
  auto tensors = train::ParseTensors(checkpoint->blobs.at("weights"), "weights");
  EXPECT_TRUE(tensors.ok());
  return *tensors;
}

TEST_F(TrainTest, LossDecreasesResumeIsBitExactAndPreviewHasSixColumns) {
  const std::string full = *root_ + "/full", part = *root_ + "/part";
  CommandResult run = Fsc("train" + Common() + "-m " + full +
                              " --iterations 24 --save-every 12 --log-every 4 "
                              "--preview-every 12 --timelapse --json",
                          false);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  nlohmann::json summary = nlohmann::json::parse(run.output);
  const auto& losses = summary["losses"];
  ASSERT_EQ(losses.size(), 24u);
  double first = 0, last = 0;
  for (int i = 0; i < 6; ++i) {
    first += losses[i]["loss_a"].get<double>() + losses[i]["loss_b"].get<double>();
    last += losses[18 + i]["loss_a"].get<double>() + losses[18 + i]["loss_b"].get<double>();
  }
  EXPECT_LT(last, first * 0.95) << summary.dump();
  EXPECT_EQ(summary["iteration"], 24);

  cv::Mat preview = cv::imread(full + "/preview.png");
  ASSERT_FALSE(preview.empty());
  EXPECT_EQ(preview.size(), train::PreviewSize(4, 64));
  EXPECT_TRUE(fs::exists(full + "/timelapse/preview_000012.png"));
  EXPECT_TRUE(fs::exists(full + "/timelapse/preview_000024.png"));

  // The same run stopped at 12 and resumed (flags from the checkpoint) to 24.
  CommandResult first_half = Fsc("train" + Common() + "-m " + part + " --iterations 12");
  ASSERT_EQ(first_half.exit_code, 0) << first_half.output;
  CommandResult resumed = Fsc("train --resume " + part + " --iterations 24");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resuming at iteration 12"), std::string::npos) << resumed.output;
  auto a = Weights(full), b = Weights(part);
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, tensor] : a) {
    EXPECT_TRUE(torch::equal(tensor, b.at(name))) << name;
  }
  EXPECT_EQ(train::ReadCheckpoint(part)->manifest.iteration, 24);

  // A fresh run does not overwrite a trained model.
  CommandResult again = Fsc("train" + Common() + "-m " + part + " --iterations 2");
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.output.find("--resume"), std::string::npos) << again.output;

  // A corrupted weights file is refused by name, never re-initialised.
  auto manifest = train::ReadCheckpoint(part)->manifest;
  const std::string weights = part + "/" + manifest.files.at("weights").name;
  std::string bytes = *util::ReadFile(weights);
  bytes[bytes.size() / 3] ^= 0x20;
  ASSERT_TRUE(util::WriteFileAtomically(weights, bytes).ok());
  CommandResult corrupt = Fsc("train --resume " + part + " --iterations 30");
  EXPECT_EQ(corrupt.exit_code, 1);
  EXPECT_NE(corrupt.output.find(weights), std::string::npos) << corrupt.output;
  EXPECT_NE(corrupt.output.find("corrupted"), std::string::npos) << corrupt.output;
}

TEST_F(TrainTest, GanRunWritesDiscriminatorState) {
  const std::string dir = *root_ + "/gan";
  CommandResult run = Fsc("train" + Common() + "-m " + dir +
                              " --iterations 3 --gan-weight 0.1 --preview-every 0 --json",
                          false);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  nlohmann::json summary = nlohmann::json::parse(run.output);
  EXPECT_GT(summary["losses"][2]["gan_d_a"].get<double>(), 0);
  auto checkpoint = train::ReadCheckpoint(dir);
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  ASSERT_EQ(checkpoint->blobs.count("discriminators"), 1u);
  auto disc = train::ParseTensors(checkpoint->blobs.at("discriminators"), "d");
  ASSERT_TRUE(disc.ok());
  EXPECT_GT(disc->size(), 4u);
  auto optimizer = train::ParseTensors(checkpoint->blobs.at("optimizer"), "o");
  EXPECT_EQ(optimizer->count("discriminators.step"), 1u);
  CommandResult resumed = Fsc("train --resume " + dir + " --iterations 4");
  EXPECT_EQ(resumed.exit_code, 0) << resumed.output;
}

TEST_F(TrainTest, BadInputIsRefusedClearly) {
  CommandResult missing = Fsc("train --a " + *root_ + "/nope --b " + *root_ + "/B -m " + *root_ +
                              "/m1 --model lightweight");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("nope"), std::string::npos) << missing.output;
  CommandResult model =
      Fsc("train --a " + *root_ + "/A --b " + *root_ + "/B -m " + *root_ + "/m2 --model nosuch");
  // Option values no model or loss has are usage errors, found before anything is read.
  EXPECT_EQ(model.exit_code, 2);
  EXPECT_NE(model.output.find("nosuch"), std::string::npos) << model.output;
  CommandResult loss = Fsc("train" + Common() + "-m " + *root_ + "/m3 --loss ssim:x");
  EXPECT_EQ(loss.exit_code, 2) << loss.output;
  EXPECT_EQ(Fsc("train").exit_code, 2);
  CommandResult help = Fsc("train --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.output.find("--gan-weight"), std::string::npos);
}

TEST_F(TrainTest, BenchTrainPrintsJson) {
  CommandResult run =
      Fsc("bench train --model lightweight --batch 2 --iterations 1 --warmup 1 --threads 2 --json",
          false);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  nlohmann::json out = nlohmann::json::parse(run.output);
  EXPECT_GT(out["examples_per_sec"].get<double>(), 0);
  EXPECT_GT(out["step_seconds"].get<double>(), 0);
  EXPECT_EQ(out["model"], "lightweight");
  EXPECT_EQ(out["batch"], 2);
  EXPECT_EQ(out["threads"], 2);
  // The default precision is auto: bf16 autocast where this CPU has bf16 arithmetic.
  EXPECT_EQ(out["precision"], train::CpuHasBf16() ? "bf16" : "fp32");
}

}  // namespace
}  // namespace fsc
