// A real Prometheus (Debian's prometheus package) scrapes a MetricsServer over 127.0.0.1: the
// target is healthy with no scrape error, and queries return the values the registry holds,
// labels and histogram buckets included; `promtool check metrics` passes on what a trainer,
// worker and coordinator export (every standard family) and fails on broken text.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/text_serializer.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/metrics/gpu_memory.h"
#include "core/metrics/http_server.h"
#include "core/metrics/process_metrics.h"
#include "core/metrics/standard_metrics.h"
#include "core/util/file_io.h"
#include "tests/http_get.h"
#include "tests/integration/metrics_harness.h"
#include "tests/test_paths.h"

namespace fsc {
namespace {

using testing::PrometheusProcess;

nlohmann::json Api(int port, const std::string& path) { return testing::PrometheusApi(port, path); }

// The single value of an instant query, or "" while it has no result.
std::string QueryValue(int port, const std::string& encoded_query) {
  nlohmann::json answer = Api(port, "/api/v1/query?query=" + encoded_query);
  if (answer.is_null() || answer.is_discarded() || answer["status"] != "success") return "";
  const nlohmann::json& result = answer["data"]["result"];
  if (result.size() != 1) return "";
  return result[0]["value"][1].get<std::string>();
}

TEST(MetricsPrometheusTest, RealPrometheusScrapesAndQueries) {
  ASSERT_EQ(testing::RunCommand("command -v prometheus").exit_code, 0)
      << "prometheus not found: install Debian's prometheus package (scripts/setup)";
  prometheus::Registry registry;
  metrics::Exposition exposition;
  exposition.Add(&registry);
  metrics::ExportProcessMetrics(&exposition);
  prometheus::BuildGauge()
      .Name("fsc_test_depth")
      .Help("Depth.")
      .Register(registry)
      .Add({{"queue", "extract"}, {"note", "say \"hi\"\\now"}})
      .Set(42);
  prometheus::Histogram& latency = prometheus::BuildHistogram()
                                       .Name("fsc_test_seconds")
                                       .Help("Latency.")
                                       .Register(registry)
                                       .Add({}, prometheus::Histogram::BucketBoundaries{0.1, 1});
  for (double v : {0.05, 0.1, 0.5, 2.0}) latency.Observe(v);
  metrics::MetricsServer server(&exposition);
  ASSERT_TRUE(server.Start("127.0.0.1", 0).ok());

  const std::string dir = testing::MakeTempDir("fsc-prometheus");
  ASSERT_TRUE(util::WriteFileAtomically(dir + "/prometheus.yml",
                                        "global:\n"
                                        "  scrape_interval: 1s\n"
                                        "scrape_configs:\n"
                                        "  - job_name: fsc\n"
                                        "    static_configs:\n"
                                        "      - targets: ['127.0.0.1:" +
                                            std::to_string(server.port()) + "']\n")
                  .ok());
  const int port = testing::FreePort();
  PrometheusProcess prometheus(dir, port);
  ASSERT_GT(prometheus.pid(), 0);

  // Wait (bounded, nothing timed) until the target has been scraped.
  nlohmann::json target;
  for (int attempt = 0; attempt < 600; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    nlohmann::json targets = Api(port, "/api/v1/targets");
    if (targets.is_null() || targets.is_discarded()) continue;
    const nlohmann::json& active = targets["data"]["activeTargets"];
    if (active.size() == 1 && active[0]["health"] != "unknown") {
      target = active[0];
      break;
    }
  }
  ASSERT_FALSE(target.is_null()) << util::ReadFile(dir + "/prometheus.log").value_or("");
  EXPECT_EQ(target["health"], "up") << target.dump(2);
  EXPECT_EQ(target["lastError"], "") << target.dump(2);

  // fsc_test_depth{queue="extract"} and the +Inf bucket, as Prometheus stored them.
  std::string depth, inf;
  for (int attempt = 0; attempt < 120 && (depth.empty() || inf.empty()); ++attempt) {
    depth = QueryValue(port, "fsc_test_depth%7Bqueue%3D%22extract%22%7D");
    inf = QueryValue(port, "fsc_test_seconds_bucket%7Ble%3D%22%2BInf%22%7D");
    if (depth.empty() || inf.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  EXPECT_EQ(depth, "42");
  EXPECT_EQ(inf, "4");
  EXPECT_EQ(QueryValue(port, "fsc_test_seconds_bucket%7Ble%3D%220.1%22%7D"), "2");
  EXPECT_EQ(QueryValue(port, "fsc_test_seconds_sum"), "2.65");
  // The escaped label value came through intact.
  nlohmann::json series = Api(port, "/api/v1/series?match%5B%5D=fsc_test_depth");
  ASSERT_FALSE(series.is_null());
  ASSERT_EQ(series["data"].size(), 1u) << series.dump();
  EXPECT_EQ(series["data"][0]["note"], "say \"hi\"\\now");
  EXPECT_FALSE(QueryValue(port, "process_resident_memory_bytes").empty());
}

// Runs `promtool check metrics` on `text`; returns its exit code and output.
testing::CommandResult Promtool(const std::string& text) {
  const std::string file = testing::MakeTempDir("fsc-promtool") + "/metrics.txt";
  EXPECT_TRUE(util::WriteFileAtomically(file, text).ok());
  return testing::RunCommand("promtool check metrics < " + file + " 2>&1");
}

TEST(MetricsPromtoolTest, EveryStandardFamilyPassesPromtool) {
  ASSERT_EQ(testing::RunCommand("command -v promtool").exit_code, 0)
      << "promtool not found: install Debian's prometheus package (scripts/setup)";
  prometheus::Registry registry;
  metrics::Exposition exposition;
  exposition.Add(&registry);
  metrics::ExportProcessMetrics(&exposition);
  absl::StatusOr<metrics::StandardMetrics> m = metrics::RegisterStandardMetrics(&registry);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_TRUE(metrics::RegisterStandardMetrics(&registry).ok());  // again: the same families
  m->lease_expiries->Increment();
  for (double s : {0.001, 0.02, 0.3, 4.0, 60.0}) {
    m->rpc_duration_seconds.WithLabels({"fsc.proto.ClientService/SubmitJob", "OK"}).Observe(s);
    m->rpc_duration_seconds.WithLabels({"fsc.proto.WorkerService/Heartbeat", "UNAVAILABLE"})
        .Observe(s / 10);
  }
  m->train_iteration->Set(1250);
  m->train_examples_per_second.WithLabels({"0"}).Set(41.7);
  m->train_loss.WithLabels({"a"}).Set(0.0421);
  m->train_mask_loss.WithLabels({"b"}).Set(0.01);
  m->train_gan_loss.WithLabels({"a", "generator"}).Set(0.9);
  m->train_step_seconds.WithLabels({"compute"}).Observe(0.35);
  m->train_step_seconds.WithLabels({"allreduce"}).Observe(0.04);
  m->allreduce_bytes->Increment(3.2e8);
  m->checkpoint_seconds->Observe(2.5);
  m->checkpoint_bytes->Set(3.3e8);
  m->extract_frames->Increment(270);
  m->frames_per_second.WithLabels({"extract"}).Set(12.5);
  // The scrape-time families as the coordinator and a GPU worker build them.
  prometheus::MetricFamily jobs = metrics::GaugeFamily(metrics::kJobs.name, metrics::kJobs.help);
  metrics::AddSample(&jobs, {{"state", "queued"}}, 4);
  prometheus::MetricFamily gpu =
      metrics::GaugeFamily(metrics::kGpuMemoryBytes.name, metrics::kGpuMemoryBytes.help);
  metrics::AddSample(&gpu, {{"device", metrics::GpuDeviceLabel(0)}}, std::pow(2.0, 33));
  // Label values that need escaping, and special values.
  auto& odd =
      prometheus::BuildGauge().Name("fsc_test_value").Help("Odd values.").Register(registry);
  odd.Add({{"path", "C:\\dir \"quoted\"\nnext line"}}).Set(std::nan(""));
  odd.Add({{"path", "inf"}}).Set(HUGE_VAL);
  odd.Add({{"path", "tiny"}}).Set(-1.5e-300);

  std::vector<prometheus::MetricFamily> families = exposition.Collect();
  families.push_back(jobs);
  families.push_back(gpu);
  for (const prometheus::MetricFamily& family : families) {
    // prometheus-cpp 1.0 writes help texts unescaped.
    EXPECT_EQ(family.help.find_first_of("\\\n"), std::string::npos) << family.name;
  }
  const std::string text = prometheus::TextSerializer().Serialize(families);
  for (const char* series :
       {"process_cpu_seconds_total ", "process_resident_memory_bytes ", "process_open_fds ",
        "process_start_time_seconds ", "process_threads ", "fsc_checkpoint_seconds_bucket{",
        "fsc_jobs{state=\"queued\"} 4", "fsc_gpu_memory_bytes{device=\"cuda:0\"} "}) {
    EXPECT_THAT(text, ::testing::HasSubstr(series));
  }
  testing::CommandResult check = Promtool(text);
  EXPECT_EQ(check.exit_code, 0) << check.output << "\n" << text;
}

TEST(MetricsPromtoolTest, BrokenTextFails) {
  ASSERT_EQ(testing::RunCommand("command -v promtool").exit_code, 0);
  // Syntax errors: an unescaped quote in a label value, an unknown type.
  testing::CommandResult quote =
      Promtool("# HELP x_total X.\n# TYPE x_total counter\nx_total{path=\"a\"b\"} 1\n");
  EXPECT_NE(quote.exit_code, 0) << quote.output;
  testing::CommandResult type = Promtool("# TYPE x_total countr\nx_total 1\n");
  EXPECT_NE(type.exit_code, 0) << type.output;
  // And the linter: a counter that does not end in _total.
  prometheus::Registry registry;
  prometheus::BuildCounter().Name("fsc_requests").Help("Requests.").Register(registry).Add({});
  testing::CommandResult lint =
      Promtool(prometheus::TextSerializer().Serialize(registry.Collect()));
  EXPECT_NE(lint.exit_code, 0);
  EXPECT_THAT(lint.output, ::testing::HasSubstr("_total"));
}

}  // namespace
}  // namespace fsc
