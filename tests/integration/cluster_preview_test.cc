// `fsc preview` through a real local cluster: a train job's worker uploads the Trainer's
// preview.png and reports it; the coordinator keeps the latest per job (in its database, so it
// survives a kill -9 and restart) and serves it to the job's owner only. --wait waits for the
// first one; a job without a train stage and an unknown job are clear errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "core/util/file_io.h"
#include "tests/integration/cluster_harness.h"
#include "tests/test_paths.h"

namespace fsc {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using ::testing::HasSubstr;

constexpr int kIterations = 4;

std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

bool IsPng(const std::string& bytes) { return bytes.rfind("\x89PNG\r\n\x1a\n", 0) == 0; }

TEST(ClusterPreviewTest, TrainJobPreviewIsServedToItsOwner) {
  const std::string root = testing::MakeTempDir("fsc-preview");
  fs::create_directories(root + "/photos");
  for (const char* name : {"sample1.jpg", "sample2.jpg"}) {
    fs::copy_file(testing::DataDir() + "/" + name, root + "/photos/" + name);
  }
  CommandResult faces = testing::RunCommand(testing::BinDir() + "/fsc extract " + root +
                                            "/photos -o " + root + "/faces 2>&1");
  ASSERT_EQ(faces.exit_code, 0) << faces.output;

  testing::LocalCluster cluster(1);
  ASSERT_TRUE(cluster.ok()) << cluster.up_result().output;
  CommandResult submitted = cluster.Fsc("submit train --a " + root + "/faces --b " + root +
                                        "/faces --model lightweight --batch 2 " + "--iterations " +
                                        std::to_string(kIterations) + " --name previewed");
  ASSERT_EQ(submitted.exit_code, 0) << submitted.output;
  const std::string job = FirstLine(submitted.output);
  ASSERT_FALSE(job.empty());

  // --wait: the job reports its preview when training ends (preview_every is larger than the
  // run), which may be after this call started.
  CommandResult waited =
      cluster.Fsc("preview " + job + " -o " + root + "/first.png --wait " + "--timeout 600 --json");
  ASSERT_EQ(waited.exit_code, 0) << waited.output;
  nlohmann::json info = testing::ParseJsonOutput(waited);
  EXPECT_EQ(info.value("job_id", ""), job);
  EXPECT_EQ(info.value("iteration", -1), kIterations) << info.dump(1);
  absl::StatusOr<std::string> first = util::ReadFile(root + "/first.png");
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(IsPng(*first));
  EXPECT_EQ(info.value("size", 0), static_cast<int>(first->size()));

  // The preview is the Trainer's own: the same bytes as the model folder's preview.png.
  nlohmann::json done = cluster.WaitForJob(
      job, [](const nlohmann::json& j) { return j.value("state", "") == "JOB_SUCCEEDED"; });
  ASSERT_EQ(done.value("state", ""), "JOB_SUCCEEDED") << done.dump(1);
  CommandResult fetched = cluster.Fsc("fetch " + job + " -o " + root + "/fetched");
  ASSERT_EQ(fetched.exit_code, 0) << fetched.output;
  EXPECT_EQ(util::ReadFile(root + "/fetched/model/preview.png").value_or(""), *first);

  // Kept across a coordinator crash and restart.
  cluster.Kill9("coordinator");
  ASSERT_EQ(cluster.Up(1).exit_code, 0);
  CommandResult again = cluster.Fsc("preview " + job.substr(0, 8) + " -o " + root + "/again.png",
                                    /*with_stderr=*/true);
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_THAT(again.output, HasSubstr(fs::absolute(root + "/again.png").string()));
  EXPECT_EQ(util::ReadFile(root + "/again.png").value_or(""), *first);

  // Only the owner sees it.
  CommandResult made =
      testing::RunCommand(testing::BinDir() + "/fsc-coordinator token create --db " +
                          cluster.dir() + "/coordinator.db --user mallory --json 2>/dev/null");
  ASSERT_EQ(made.exit_code, 0) << made.output;
  const std::string other = testing::ParseJsonOutput(made).value("token", "");
  ASSERT_FALSE(other.empty());
  CommandResult peek =
      cluster.Fsc("preview " + job + " -o " + root + "/stolen.png --token " + other,
                  /*with_stderr=*/true);
  EXPECT_EQ(peek.exit_code, 1) << peek.output;
  EXPECT_THAT(peek.output, HasSubstr("no job"));
  EXPECT_FALSE(fs::exists(root + "/stolen.png"));
}

TEST(ClusterPreviewTest, JobsWithoutPreviewsAreClearErrors) {
  // No workers: jobs stay queued, which is all these checks need.
  testing::LocalCluster cluster(0);
  ASSERT_TRUE(cluster.ok()) << cluster.up_result().output;
  const std::string root = testing::MakeTempDir("fsc-preview-errors");

  CommandResult extract = cluster.Fsc("submit extract " + testing::DataDir() + "/sample1.jpg");
  ASSERT_EQ(extract.exit_code, 0) << extract.output;
  CommandResult no_stage =
      cluster.Fsc("preview " + FirstLine(extract.output) + " -o " + root + "/x.png", true);
  EXPECT_EQ(no_stage.exit_code, 1) << no_stage.output;
  EXPECT_THAT(no_stage.output, HasSubstr("has no train stage"));

  CommandResult train = cluster.Fsc("submit train --a " + testing::DataDir() + "/sample1.jpg --b " +
                                    testing::DataDir() + "/sample2.jpg --iterations 2");
  ASSERT_EQ(train.exit_code, 0) << train.output;
  const std::string job = FirstLine(train.output);
  CommandResult none_yet = cluster.Fsc("preview " + job + " -o " + root + "/y.png", true);
  EXPECT_EQ(none_yet.exit_code, 1) << none_yet.output;
  EXPECT_THAT(none_yet.output, HasSubstr("no training preview yet"));
  EXPECT_THAT(none_yet.output, HasSubstr("--wait"));
  CommandResult gave_up =
      cluster.Fsc("preview " + job + " -o " + root + "/y.png --wait --timeout 1", true);
  EXPECT_EQ(gave_up.exit_code, 1) << gave_up.output;
  EXPECT_THAT(gave_up.output, HasSubstr("gave up after 1 s"));
  CommandResult cancelled = cluster.Fsc("cancel " + job, true);
  ASSERT_EQ(cancelled.exit_code, 0) << cancelled.output;
  CommandResult ended = cluster.Fsc("preview " + job + " -o " + root + "/y.png --wait", true);
  EXPECT_EQ(ended.exit_code, 1) << ended.output;
  EXPECT_THAT(ended.output, HasSubstr("cancelled without reporting a training preview"));
  EXPECT_FALSE(fs::exists(root + "/y.png"));

  CommandResult unknown = cluster.Fsc("preview j-nope -o " + root + "/z.png", true);
  EXPECT_EQ(unknown.exit_code, 1) << unknown.output;
  CommandResult usage = cluster.Fsc("preview " + job, true);
  EXPECT_EQ(usage.exit_code, 2) << usage.output;
  EXPECT_THAT(usage.output, HasSubstr("-o FILE.png"));
}

}  // namespace
}  // namespace fsc
