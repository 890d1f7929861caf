// The Prometheus text format: value formatting, escaping, the exact exposition of a small
// registry, and `promtool check metrics` (Debian's prometheus package) on a realistic registry's
// output, with broken text to show that the check does fail.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>

#include "core/metrics/process_metrics.h"
#include "core/metrics/standard_metrics.h"
#include "core/metrics/text_format.h"
#include "core/metrics/value_format.h"
#include "core/util/file_io.h"
#include "tests/test_paths.h"

namespace fsc::metrics {
namespace {

using ::testing::HasSubstr;

TEST(MetricsValueFormatTest, IntegersPlainSpecialValuesAsPrometheusWritesThem) {
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(-0.0), "0");
  EXPECT_EQ(FormatValue(1), "1");
  EXPECT_EQ(FormatValue(-3), "-3");
  EXPECT_EQ(FormatValue(1e6), "1000000");
  EXPECT_EQ(FormatValue(15e9), "15000000000");
  EXPECT_EQ(FormatValue(123456789012345), "123456789012345");
  EXPECT_EQ(FormatValue(0.5), "0.5");
  EXPECT_EQ(FormatValue(0.005), "0.005");
  EXPECT_EQ(FormatValue(2.5), "2.5");
  EXPECT_EQ(FormatValue(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(FormatValue(1e-7), "1e-07");
  EXPECT_EQ(FormatValue(1.5e20), "1.5e+20");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::quiet_NaN()), "NaN");
}

TEST(MetricsValueFormatTest, ValuesReadBackExactly) {
  std::mt19937_64 random(7);
  std::uniform_real_distribution<double> mantissa(-1, 1);
  std::uniform_int_distribution<int> exponent(-300, 300);
  for (int i = 0; i < 20000; ++i) {
    const double value = std::ldexp(mantissa(random), exponent(random));
    const std::string text = FormatValue(value);
    EXPECT_EQ(std::strtod(text.c_str(), nullptr), value) << text;
  }
}

TEST(MetricsTextFormatTest, Escaping) {
  EXPECT_EQ(EscapeHelp("a\\b\nc \"q\""), "a\\\\b\\nc \"q\"");
  EXPECT_EQ(EscapeLabelValue("a\\b\nc \"q\""), "a\\\\b\\nc \\\"q\\\"");
  EXPECT_EQ(EscapeLabelValue("plain ünïcode"), "plain ünïcode");
}

TEST(MetricsTextFormatTest, ExactExposition) {
  Registry registry;
  Family<Gauge>* workers = *registry.AddGauge("fsc_workers", "Workers by\nrole \\ state.",
                                              {"state", "role"});  // registration order is kept
  workers->WithLabels({"idle", "train"}).Set(2);
  workers->WithLabels({"busy", "extract"}).Set(1);
  Family<Counter>* requests = *registry.AddCounter("http_requests_total", "Requests.", {"path"});
  requests->WithLabels({"/a\"b\\c\nd"}).Inc(3);
  Family<Histogram>* latency =
      *registry.AddHistogram("latency_seconds", "Latency.", {"op"}, {0.25, 1});
  latency->WithLabels({"get"}).Observe(0.25);
  latency->WithLabels({"get"}).Observe(2);
  CallbackFamily* up = *registry.AddCallbackGauge("ratio", "A ratio.");
  ASSERT_TRUE(up->Set({}, [] { return 1e-9; }).ok());

  EXPECT_EQ(FormatText(registry),
            "# HELP fsc_workers Workers by\\nrole \\\\ state.\n"
            "# TYPE fsc_workers gauge\n"
            "fsc_workers{state=\"busy\",role=\"extract\"} 1\n"
            "fsc_workers{state=\"idle\",role=\"train\"} 2\n"
            "# HELP http_requests_total Requests.\n"
            "# TYPE http_requests_total counter\n"
            "http_requests_total{path=\"/a\\\"b\\\\c\\nd\"} 3\n"
            "# HELP latency_seconds Latency.\n"
            "# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{op=\"get\",le=\"0.25\"} 1\n"
            "latency_seconds_bucket{op=\"get\",le=\"1\"} 1\n"
            "latency_seconds_bucket{op=\"get\",le=\"+Inf\"} 2\n"
            "latency_seconds_sum{op=\"get\"} 2.25\n"
            "latency_seconds_count{op=\"get\"} 2\n"
            "# HELP ratio A ratio.\n"
            "# TYPE ratio gauge\n"
            "ratio 1e-09\n");
  EXPECT_EQ(FormatText(std::vector<FamilySnapshot>{}), "");
}

// Runs `promtool check metrics` on `text`; returns its exit code and output.
testing::CommandResult Promtool(const std::string& text) {
  const std::string file = testing::MakeTempDir("fsc-promtool") + "/metrics.txt";
  EXPECT_TRUE(util::WriteFileAtomically(file, text).ok());
  return testing::RunCommand("promtool check metrics < " + file + " 2>&1");
}

class PromtoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(testing::RunCommand("command -v promtool").exit_code, 0)
        << "promtool not found: install Debian's prometheus package (scripts/setup)";
  }
};

TEST_F(PromtoolTest, RealisticRegistryPasses) {
  Registry registry;
  ASSERT_TRUE(RegisterProcessMetrics(&registry).ok());
  absl::StatusOr<StandardMetrics> m = RegisterStandardMetrics(&registry);
  ASSERT_TRUE(m.ok()) << m.status();
  m->jobs->WithLabels({"queued"}).Set(4);
  m->jobs->WithLabels({"running"}).Set(1);
  m->queue_depth->Set(7);
  m->workers->WithLabels({"extract", "idle"}).Set(2);
  m->workers->WithLabels({"train", "busy"}).Set(4);
  m->lease_expiries->Inc();
  for (double s : {0.001, 0.02, 0.3, 4.0, 60.0}) {
    m->rpc_duration_seconds->WithLabels({"Submit", "OK"}).Observe(s);
    m->rpc_duration_seconds->WithLabels({"Heartbeat", "UNAVAILABLE"}).Observe(s / 10);
  }
  m->train_iteration->Set(1250);
  m->train_examples_per_second->WithLabels({"0"}).Set(41.7);
  m->train_loss->WithLabels({"a"}).Set(0.0421);
  m->train_loss->WithLabels({"b"}).Set(0.0388);
  m->train_gan_loss->WithLabels({"a", "generator"}).Set(0.9);
  m->train_step_seconds->WithLabels({"compute"}).Observe(0.35);
  m->train_step_seconds->WithLabels({"allreduce"}).Observe(0.04);
  m->allreduce_bytes->Inc(3.2e8);
  m->checkpoint_seconds->Observe(2.5);
  m->checkpoint_bytes->Set(3.3e8);
  m->extract_frames->Inc(270);
  m->extract_faces->Inc(268);
  m->frames_per_second->WithLabels({"extract"}).Set(12.5);
  m->gpu_memory_bytes->WithLabels({"cuda:0"}).Set(std::pow(2.0, 33));
  Family<Counter>* odd =
      *registry.AddCounter("fsc_test_events_total", "Odd \\ help\nlines.", {"path"});
  odd->WithLabels({"C:\\dir \"quoted\"\nnext line"}).Inc();
  Family<Gauge>* special = *registry.AddGauge("fsc_test_value", "Special values.", {"kind"});
  special->WithLabels({"nan"}).Set(std::nan(""));
  special->WithLabels({"inf"}).Set(HUGE_VAL);
  special->WithLabels({"tiny"}).Set(-1.5e-300);

  const std::string text = FormatText(registry);
  for (const char* name : {"process_cpu_seconds_total ", "process_resident_memory_bytes ",
                           "process_virtual_memory_bytes ", "process_open_fds ",
                           "process_start_time_seconds ", "process_threads ",
                           "fsc_rpc_duration_seconds_bucket{method=\"Submit\",code=\"OK\","
                           "le=\"+Inf\"} 5\n"}) {
    EXPECT_THAT(text, HasSubstr(name));
  }
  testing::CommandResult check = Promtool(text);
  EXPECT_EQ(check.exit_code, 0) << check.output << "\n" << text;
}

TEST_F(PromtoolTest, BrokenTextFails) {
  // Syntax errors: an unescaped quote in a label value, an unknown type.
  testing::CommandResult quote =
      Promtool("# HELP x_total X.\n# TYPE x_total counter\nx_total{path=\"a\"b\"} 1\n");
  EXPECT_NE(quote.exit_code, 0) << quote.output;
  testing::CommandResult type = Promtool("# TYPE x_total countr\nx_total 1\n");
  EXPECT_NE(type.exit_code, 0) << type.output;
  // And the linter: a counter that does not end in _total.
  Registry registry;
  ASSERT_TRUE(registry.AddCounter("fsc_requests", "Requests.").ok());
  testing::CommandResult lint = Promtool(FormatText(registry));
  EXPECT_NE(lint.exit_code, 0);
  EXPECT_THAT(lint.output, HasSubstr("_total"));
}

}  // namespace
}  // namespace fsc::metrics
