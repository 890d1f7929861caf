// End to end: the coordinator of a local cluster (TLS on) refuses calls without a token or with a
// wrong one, and the client says so clearly with a non-zero exit; a plaintext client or one
// without the cluster's CA cannot talk to it; users see and cancel only their own jobs.
#include <gtest/gtest.h>

#include "tests/integration/cluster_harness.h"

namespace fsc {
namespace {

using nlohmann::json;
using testing::CommandResult;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class ClusterAuthTest : public ::testing::Test {
 protected:
  // No workers: nothing here needs a job to run.
  ClusterAuthTest() : cluster_(0) {}

  // `fsc ARGS` with only the flags given (no config file, no environment), stdout+stderr.
  CommandResult Bare(const std::string& args) {
    std::string home = testing::MakeTempDir("fsc-home");
    return testing::RunCommand(testing::CleanEnv() + "HOME=" + home + " " + testing::BinDir() +
                               "/fsc " + args + " 2>&1");
  }

  testing::LocalCluster cluster_;
};

TEST_F(ClusterAuthTest, RefusesMissingAndWrongTokensWithAClearMessage) {
  ASSERT_TRUE(cluster_.ok()) << cluster_.up_result().output;
  json config = testing::ReadJson(cluster_.config());
  const std::string address = config["coordinator"];
  const std::string ca = cluster_.dir() + "/certs/ca.pem";

  // The right token works.
  CommandResult good = cluster_.Fsc("jobs", true);
  ASSERT_EQ(good.exit_code, 0) << good.output;
  EXPECT_TRUE(Contains(good.output, "no jobs")) << good.output;

  // No token at all.
  CommandResult none = Bare("jobs --coordinator " + address + " --tls-ca " + ca);
  EXPECT_EQ(none.exit_code, 1) << none.output;
  EXPECT_TRUE(Contains(none.output, "refused")) << none.output;
  EXPECT_TRUE(Contains(none.output, "no token was given")) << none.output;
  EXPECT_TRUE(Contains(none.output, "FSC_TOKEN")) << none.output;

  // A wrong token, on the command line over the config file's good one.
  CommandResult wrong = cluster_.Fsc("jobs --token not-a-real-token", true);
  EXPECT_EQ(wrong.exit_code, 1) << wrong.output;
  EXPECT_TRUE(Contains(wrong.output, "refused the token")) << wrong.output;
  EXPECT_TRUE(Contains(wrong.output, "FSC_TOKEN")) << wrong.output;

  // A wrong token from the environment, and the other verbs.
  std::string env_wrong = "FSC_TOKEN=also-wrong FSC_COORDINATOR=" + address + " FSC_TLS_CA=" + ca;
  for (const std::string verb : {"jobs", "dataset list", "cluster status", "job some-id"}) {
    CommandResult run = testing::RunCommand(testing::CleanEnv() + env_wrong + " " +
                                            testing::BinDir() + "/fsc " + verb + " 2>&1");
    EXPECT_EQ(run.exit_code, 1) << verb << ": " << run.output;
    EXPECT_TRUE(Contains(run.output, "refused the token")) << verb << ": " << run.output;
  }

  // A good token over the wrong transport: without the cluster's CA, or in plaintext.
  std::string token = config["token"];
  CommandResult no_ca = Bare("jobs --coordinator " + address + " --token " + token);
  EXPECT_EQ(no_ca.exit_code, 1) << no_ca.output;
  EXPECT_TRUE(Contains(no_ca.output, "cannot reach the coordinator")) << no_ca.output;
  EXPECT_TRUE(Contains(no_ca.output, "--tls-ca")) << no_ca.output;
  CommandResult plaintext =
      Bare("jobs --coordinator " + address + " --token " + token + " --insecure");
  EXPECT_EQ(plaintext.exit_code, 1) << plaintext.output;
  EXPECT_TRUE(Contains(plaintext.output, "cannot reach the coordinator")) << plaintext.output;

  // Nowhere to connect to.
  CommandResult nowhere = Bare("jobs");
  EXPECT_EQ(nowhere.exit_code, 1) << nowhere.output;
  EXPECT_TRUE(Contains(nowhere.output, "--coordinator")) << nowhere.output;
}

TEST_F(ClusterAuthTest, UsersSeeAndCancelOnlyTheirOwnJobs) {
  ASSERT_TRUE(cluster_.ok()) << cluster_.up_result().output;
  // With no workers the job stays queued.
  CommandResult submitted =
      cluster_.Fsc("submit extract " + testing::DataDir() + "/astronaut.png --name mine");
  ASSERT_EQ(submitted.exit_code, 0) << submitted.output;
  std::string id = submitted.output.substr(0, submitted.output.find('\n'));
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(cluster_.Job(id).value("state", ""), "JOB_QUEUED");

  // A second user, made the way an operator would.
  CommandResult made =
      testing::RunCommand(testing::BinDir() + "/fsc-coordinator token create --db " +
                          cluster_.dir() + "/coordinator.db --user bob 2>/dev/null");
  ASSERT_EQ(made.exit_code, 0) << made.output;
  std::string bob = made.output;
  while (!bob.empty() && (bob.back() == '\n' || bob.back() == ' ')) bob.pop_back();
  bob = bob.substr(bob.find_last_of(" \n") + 1);
  ASSERT_FALSE(bob.empty());

  json bobs_jobs = cluster_.FscJson("jobs --json --token " + bob);
  EXPECT_EQ(bobs_jobs.value("jobs", json::array()).size(), 0u) << bobs_jobs.dump(1);
  CommandResult peek = cluster_.Fsc("job " + id + " --token " + bob, true);
  EXPECT_EQ(peek.exit_code, 1) << peek.output;
  CommandResult steal = cluster_.Fsc("cancel " + id + " --token " + bob, true);
  EXPECT_EQ(steal.exit_code, 1) << steal.output;
  EXPECT_EQ(cluster_.Job(id).value("state", ""), "JOB_QUEUED");

  // The owner can.
  CommandResult cancel = cluster_.Fsc("cancel " + id, true);
  ASSERT_EQ(cancel.exit_code, 0) << cancel.output;
  EXPECT_TRUE(Contains(cancel.output, "cancelled")) << cancel.output;
  EXPECT_EQ(cluster_.Job(id).value("state", ""), "JOB_CANCELLED");
  // Following a cancelled job ends at once with exit 1.
  CommandResult follow = cluster_.Fsc("logs -f " + id, true);
  EXPECT_EQ(follow.exit_code, 1) << follow.output;
}

}  // namespace
}  // namespace fsc
