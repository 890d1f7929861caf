// A real Prometheus (Debian's prometheus package) scrapes a MetricsServer over 127.0.0.1: the
// target is healthy with no scrape error, and queries return the values the registry holds,
// labels and histogram buckets included.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/metrics/http_server.h"
#include "core/metrics/process_metrics.h"
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
  metrics::Registry registry;
  ASSERT_TRUE(metrics::RegisterProcessMetrics(&registry).ok());
  (*registry.AddGauge("fsc_test_depth", "Depth.", {"queue", "note"}))
      ->WithLabels({"extract", "say \"hi\"\\now"})
      .Set(42);
  metrics::Histogram& latency =
      (*registry.AddHistogram("fsc_test_seconds", "Latency.", {}, {0.1, 1}))->WithLabels();
  for (double v : {0.05, 0.1, 0.5, 2.0}) latency.Observe(v);
  metrics::MetricsServer server(&registry);
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

}  // namespace
}  // namespace fsc
