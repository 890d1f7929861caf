// The Grafana dashboards of k8s/grafana query only what fsc really exports: every metric name in
// every panel's PromQL must appear in the live /metrics of a real fsc-coordinator and fsc-worker
// (a local cluster that has run an extract job) or of a real `fsc train --metrics-port` (with a
// learned mask, a GAN and checkpoints, so every training series exists). Histogram series count
// as their _bucket/_sum/_count samples. The coordinator's and worker's expositions also pass
// `promtool check metrics`, and their values agree with what the cluster did.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "core/util/file_io.h"
#include "tests/http_get.h"
#include "tests/integration/cluster_harness.h"
#include "tests/integration/metrics_harness.h"
#include "tests/test_paths.h"

namespace fsc {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using testing::RunCommand;

// Exported only by processes that use a CUDA device (core/metrics/gpu_memory.h).
const std::set<std::string> kGpuOnly = {"fsc_gpu_memory_bytes"};

// Metric name -> where the dashboards use it ("training.json: Checkpoint size").
std::map<std::string, std::set<std::string>> DashboardMetrics() {
  std::map<std::string, std::set<std::string>> used;
  for (const auto& entry : fs::directory_iterator(testing::SourceDir() + "/k8s/grafana")) {
    if (entry.path().extension() != ".json") continue;
    nlohmann::json dashboard = testing::ReadJson(entry.path().string());
    EXPECT_TRUE(dashboard.is_object()) << entry.path();
    std::vector<nlohmann::json> panels;
    for (const auto& panel : dashboard.value("panels", nlohmann::json::array())) {
      panels.push_back(panel);
      // Rows may nest their panels.
      for (const auto& nested : panel.value("panels", nlohmann::json::array())) {
        panels.push_back(nested);
      }
    }
    for (const auto& panel : panels) {
      for (const auto& target : panel.value("targets", nlohmann::json::array())) {
        const std::string expr = target.value("expr", "");
        const std::set<std::string> names = testing::PromQlMetricNames(expr);
        EXPECT_FALSE(names.empty()) << entry.path().filename() << " panel '"
                                    << panel.value("title", "") << "': no metric in " << expr;
        for (const std::string& name : names) {
          used[name].insert(entry.path().filename().string() + ": " + panel.value("title", ""));
        }
      }
    }
  }
  return used;
}

std::string Scrape(int port) {
  testing::HttpResponse response = testing::HttpGet(port, "/metrics");
  EXPECT_EQ(response.status, 200) << "port " << port << ": " << response.error;
  return response.body;
}

void ExpectPromtoolAccepts(const std::string& text, const std::string& file) {
  ASSERT_TRUE(util::WriteFileAtomically(file, text).ok());
  CommandResult check = RunCommand("promtool check metrics < " + file + " 2>&1");
  EXPECT_EQ(check.exit_code, 0) << file << ": " << check.output;
}

// Scrapes a real `fsc train --metrics-port` that learns a mask, trains a GAN and checkpoints
// every iteration, once all its training series exist; then stops it with SIGINT.
std::string ScrapeTrainer(const std::string& root) {
  CommandResult faces = RunCommand(testing::BinDir() + "/fsc extract " + testing::DataDir() +
                                   "/sample1.jpg -o " + root + "/faces 2>&1");
  EXPECT_EQ(faces.exit_code, 0) << faces.output;
  EXPECT_TRUE(util::WriteFileAtomically(
                  root + "/tiny.json",
                  R"({"name":"tiny","input_size":64,"encoder_filters":[16,32,64,128],)"
                  R"("dense_dim":64,"latent_size":4,"latent_channels":64,)"
                  R"("encoder_upscale":64,"decoder_filters":[64,32,16]})")
                  .ok());
  const int port = testing::FreePort();
  const std::string log = root + "/train.log";
  const pid_t pid = testing::SpawnFsc({"train",
                                       "--architecture",
                                       root + "/tiny.json",
                                       "--a",
                                       root + "/faces",
                                       "--b",
                                       root + "/faces",
                                       "-m",
                                       root + "/model",
                                       "--batch",
                                       "2",
                                       "--threads",
                                       "1",
                                       "--iterations",
                                       "1000000",
                                       "--save-every",
                                       "1",
                                       "--preview-every",
                                       "0",
                                       "--log-every",
                                       "1",
                                       "--learn-mask",
                                       "--gan-weight",
                                       "0.1",
                                       "--metrics-host",
                                       "127.0.0.1",
                                       "--metrics-port",
                                       std::to_string(port)},
                                      log);
  std::string text;
  bool ready = false;
  for (int attempt = 0; attempt < 2400 && !ready; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    if (waitpid(pid, nullptr, WNOHANG) == pid) break;
    testing::HttpResponse response = testing::HttpGet(port, "/metrics");
    if (response.status != 200) continue;
    text = response.body;
    ready = testing::SeriesValue(text, "fsc_checkpoint_seconds_count") >= 1 &&
            text.find("fsc_train_gan_loss{") != std::string::npos &&
            text.find("fsc_train_mask_loss{") != std::string::npos &&
            text.find("fsc_train_examples_per_second{") != std::string::npos;
  }
  kill(pid, SIGINT);
  waitpid(pid, nullptr, 0);
  EXPECT_TRUE(ready) << "fsc train never exported every training series; last scrape:\n"
                     << text << "\nits log:\n"
                     << util::ReadFile(log).value_or("");
  return text;
}

TEST(MetricsDashboardsTest, PromQlMetricNamesAreFound) {
  using ::testing::ElementsAre;
  EXPECT_THAT(testing::PromQlMetricNames(
                  "histogram_quantile(0.95, sum by (le, method) "
                  "(rate(fsc_rpc_duration_seconds_bucket{method!~\".*/(LeaseTask)\"}[5m])))"),
              ElementsAre("fsc_rpc_duration_seconds_bucket"));
  EXPECT_THAT(testing::PromQlMetricNames("sum(rate(a_sum{phase=\"x\"}[5m])) / on (pod) "
                                         "group_left(side) b_total * 60 > bool 1e-3"),
              ElementsAre("a_sum", "b_total"));
  EXPECT_THAT(testing::PromQlMetricNames("max without (le) (x) + count(y) / sum by(z)(w)"),
              ElementsAre("w", "x", "y"));
  EXPECT_THAT(testing::PromQlMetricNames("process_rss and on (pod) (fsc_it > 0)"),
              ElementsAre("fsc_it", "process_rss"));
}

TEST(MetricsDashboardsTest, EveryPanelQueriesMetricsThatLiveProcessesExport) {
  ASSERT_EQ(RunCommand("command -v promtool").exit_code, 0)
      << "promtool not found: install Debian's prometheus package (scripts/setup)";
  const std::map<std::string, std::set<std::string>> used = DashboardMetrics();
  ASSERT_GE(used.size(), 10u) << "the dashboards name too few metrics to be real";
  const std::string root = testing::MakeTempDir("fsc-dashboards");

  testing::LocalCluster cluster(1);
  ASSERT_TRUE(cluster.ok()) << cluster.up_result().output;
  const std::map<std::string, int> ports = testing::ClusterMetricsPorts(cluster.dir());
  ASSERT_EQ(ports.count("coordinator"), 1u) << "cluster.json has no metrics port";
  ASSERT_EQ(ports.count("worker-1"), 1u) << "cluster.json has no metrics port";
  // One extract task on the worker, so its frame series exist.
  CommandResult job = cluster.Fsc("submit extract " + testing::DataDir() + "/sample1.jpg --wait");
  ASSERT_EQ(job.exit_code, 0) << job.output;

  const std::string coordinator = Scrape(ports.at("coordinator"));
  const std::string worker = Scrape(ports.at("worker-1"));
  const std::string trainer = ScrapeTrainer(root);

  std::set<std::string> live = testing::SampleNames(coordinator);
  for (const std::string* text : {&worker, &trainer}) {
    std::set<std::string> names = testing::SampleNames(*text);
    live.insert(names.begin(), names.end());
  }
  // Families are named in the header (those computed at scrape time) or its source.
  std::string declared;
  for (const char* file : {"standard_metrics.h", "standard_metrics.cc"}) {
    declared += util::ReadFile(testing::SourceDir() + "/core/metrics/" + file).value_or("");
  }
  for (const auto& [name, panels] : used) {
    std::string where;
    for (const std::string& panel : panels) where += "\n  " + panel;
    if (kGpuOnly.count(name) != 0) {
      std::string family = name;
      for (const std::string suffix : {"_sum", "_count", "_bucket"}) {
        if (absl::EndsWith(family, suffix)) family.resize(family.size() - suffix.size());
      }
      EXPECT_NE(declared.find("\"" + family + "\""), std::string::npos)
          << name
          << " is not a standard metric (core/metrics/standard_metrics.h); used by:" << where;
      continue;
    }
    EXPECT_EQ(live.count(name), 1u)
        << "no live fsc process exports " << name << ", which these panels query:" << where;
  }

  // The coordinator's gauges and RPC timing reflect what happened.
  EXPECT_GE(testing::SeriesValue(coordinator, "fsc_jobs{state=\"succeeded\"}"), 1) << coordinator;
  EXPECT_EQ(testing::SeriesValue(coordinator, "fsc_jobs{state=\"failed\"}"), 0) << coordinator;
  EXPECT_EQ(testing::SeriesValue(coordinator, "fsc_queue_depth"), 0) << coordinator;
  EXPECT_EQ(testing::SeriesValue(coordinator, "fsc_workers{role=\"extract\",state=\"idle\"}") +
                testing::SeriesValue(coordinator, "fsc_workers{role=\"extract\",state=\"busy\"}"),
            1)
      << coordinator;
  EXPECT_GE(testing::SeriesValue(coordinator,
                                 "fsc_rpc_duration_seconds_count{method=\"fsc.proto.ClientService/"
                                 "SubmitJob\",code=\"OK\"}"),
            1)
      << coordinator;
  EXPECT_GE(testing::SeriesValue(coordinator,
                                 "fsc_rpc_duration_seconds_count{method=\"fsc.proto.WorkerService/"
                                 "CompleteTask\",code=\"OK\"}"),
            1)
      << coordinator;
  // Every method has its series from the start (here: one never called).
  EXPECT_EQ(testing::SeriesValue(coordinator,
                                 "fsc_rpc_duration_seconds_count{method=\"fsc.proto."
                                 "RendezvousService/KvGet\",code=\"OK\"}"),
            0)
      << coordinator;
  // The worker decoded the image and found its face.
  EXPECT_GE(testing::SeriesValue(worker, "fsc_extract_frames_total"), 1) << worker;
  EXPECT_GE(testing::SeriesValue(worker, "fsc_extract_faces_total"), 1) << worker;
  EXPECT_EQ(testing::SeriesValue(worker, "fsc_frames_per_second{stage=\"extract\"}"), 0)
      << "an idle worker reports 0 frames/s\n"
      << worker;
  EXPECT_GT(testing::SeriesValue(trainer, "fsc_checkpoint_bytes"), 1000) << trainer;

  ExpectPromtoolAccepts(coordinator, root + "/coordinator.txt");
  ExpectPromtoolAccepts(worker, root + "/worker.txt");
  ExpectPromtoolAccepts(trainer, root + "/trainer.txt");
}

}  // namespace
}  // namespace fsc
