// A real Prometheus scrapes a real local cluster through the configuration `fsc cluster up
// --local` writes (STATE/prometheus.yml: the coordinator and every worker, each serving /metrics
// on its own port) while the cluster runs a short train job. Prometheus' HTTP API must then hold
// the examples/s and loss series of every rank of the job, and the coordinator's job gauges.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>

#include "absl/strings/str_replace.h"
#include "core/util/file_io.h"
#include "tests/integration/cluster_harness.h"
#include "tests/integration/metrics_harness.h"
#include "tests/test_paths.h"

namespace fsc {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;

// Ranks of the data-parallel train job (the cluster has kRanks + 1 workers, so one worker never
// trains and must not show up as a rank).
constexpr int kRanks = 2;
constexpr int kWorkers = kRanks + 1;

// Polls an instant query until `done(result)` holds (bounded; nothing is timed).
nlohmann::json QueryUntil(int port, const std::string& query,
                          const std::function<bool(const nlohmann::json&)>& done) {
  nlohmann::json result = nlohmann::json::array();
  for (int attempt = 0; attempt < 240; ++attempt) {
    result = testing::PrometheusQuery(port, query);
    if (done(result)) return result;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return result;
}

TEST(MetricsClusterPrometheusTest, PrometheusSeesEveryRankOfATrainJob) {
  ASSERT_EQ(testing::RunCommand("command -v prometheus").exit_code, 0)
      << "prometheus not found: install Debian's prometheus package (scripts/setup)";
  const std::string root = testing::MakeTempDir("fsc-cluster-prometheus");
  fs::create_directories(root + "/photos");
  for (const char* name : {"sample1.jpg", "sample2.jpg"}) {
    fs::copy_file(testing::DataDir() + "/" + name, root + "/photos/" + name);
  }
  CommandResult faces = testing::RunCommand(testing::BinDir() + "/fsc extract " + root +
                                            "/photos -o " + root + "/faces 2>&1");
  ASSERT_EQ(faces.exit_code, 0) << faces.output;

  testing::LocalCluster cluster(kWorkers);
  ASSERT_TRUE(cluster.ok()) << cluster.up_result().output;
  EXPECT_THAT(cluster.up_result().output, ::testing::HasSubstr("prometheus.yml"));

  // The generated configuration, scraping every second instead of every 5 s to keep this short.
  absl::StatusOr<std::string> config = util::ReadFile(cluster.dir() + "/prometheus.yml");
  ASSERT_TRUE(config.ok()) << config.status();
  const std::string fast =
      absl::StrReplaceAll(*config, {{"scrape_interval: 5s", "scrape_interval: 1s"}});
  ASSERT_NE(fast, *config) << *config;
  ASSERT_TRUE(util::WriteFileAtomically(root + "/prometheus.yml", fast).ok());
  const int port = testing::FreePort();
  testing::PrometheusProcess prometheus(root, port);
  ASSERT_GT(prometheus.pid(), 0);

  // Every process is a healthy target, labelled as in the Kubernetes deployment.
  nlohmann::json up = QueryUntil(port, "up == 1", [](const nlohmann::json& r) {
    return r.size() == static_cast<size_t>(kWorkers + 1);
  });
  ASSERT_EQ(up.size(), static_cast<size_t>(kWorkers + 1)) << up.dump(1) << "\n"
                                                          << fast << "\n"
                                                          << prometheus.Log();
  std::set<std::string> pods;
  for (const auto& series : up) pods.insert(series["metric"].value("pod", ""));
  EXPECT_EQ(pods.count("coordinator"), 1u) << up.dump(1);
  EXPECT_EQ(pods.count("worker-1"), 1u) << up.dump(1);

  CommandResult submitted = cluster.Fsc(
      "submit train --a " + root + "/faces --b " + root + "/faces --model lightweight --batch 2 " +
      "--iterations 6 --ranks " + std::to_string(kRanks) + " --wait");
  ASSERT_EQ(submitted.exit_code, 0) << submitted.output;

  // examples/s: one series per rank, labelled 0..kRanks-1, each from its own worker.
  nlohmann::json rates =
      QueryUntil(port, "fsc_train_examples_per_second > 0",
                 [](const nlohmann::json& r) { return r.size() >= static_cast<size_t>(kRanks); });
  std::set<std::string> ranks, rank_pods;
  for (const auto& series : rates) {
    ranks.insert(series["metric"].value("rank", ""));
    rank_pods.insert(series["metric"].value("pod", ""));
  }
  std::set<std::string> expected_ranks;
  for (int rank = 0; rank < kRanks; ++rank) expected_ranks.insert(std::to_string(rank));
  EXPECT_EQ(ranks, expected_ranks) << rates.dump(1);
  EXPECT_EQ(rank_pods.size(), static_cast<size_t>(kRanks)) << rates.dump(1);

  // Loss per side from every rank's worker, with samples over the run.
  for (const std::string side : {"a", "b"}) {
    const std::string query = "count_over_time(fsc_train_loss{side=\"" + side + "\"}[10m])";
    nlohmann::json losses = QueryUntil(port, query, [](const nlohmann::json& r) {
      return r.size() >= static_cast<size_t>(kRanks);
    });
    std::set<std::string> loss_pods;
    for (const auto& series : losses) {
      loss_pods.insert(series["metric"].value("pod", ""));
      EXPECT_GE(std::stod(series["value"][1].get<std::string>()), 1) << series.dump();
    }
    EXPECT_EQ(loss_pods, rank_pods) << "side " << side << ": " << losses.dump(1);
  }
  nlohmann::json loss = testing::PrometheusQuery(port, "fsc_train_loss > 0");
  EXPECT_EQ(loss.size(), static_cast<size_t>(2 * kRanks)) << loss.dump(1);

  // And the coordinator's view of the same job.
  nlohmann::json succeeded =
      QueryUntil(port, "fsc_jobs{state=\"succeeded\",component=\"coordinator\"} == 1",
                 [](const nlohmann::json& r) { return r.size() == 1; });
  EXPECT_EQ(succeeded.size(), 1u) << succeeded.dump(1);
}

}  // namespace
}  // namespace fsc
