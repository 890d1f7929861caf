// process_* metrics: parsing /proc/PID/stat (command names with spaces and parentheses) and
// /proc/stat's btime, and the live values of this test process.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <ctime>
#include <thread>

#include "core/metrics/process_metrics.h"

namespace fsc::metrics {
namespace {

// A real line of /proc/PID/stat with an awkward command name; fields 14/15 (utime, stime) are
// 250 and 150 ticks, 20 (threads) is 7, 22 (starttime) is 12345 ticks, 23 (vsize) 1048576000
// bytes and 24 (rss) 2500 pages.
constexpr char kStat[] =
    "4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 150 0 0 20 0 7 0 12345 "
    "1048576000 2500 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 3 0 0 0 0 0\n";

TEST(ProcessMetricsTest, ParsesProcStat) {
  absl::StatusOr<ProcStat> stat = ParseProcStat(kStat, 100, 4096);
  ASSERT_TRUE(stat.ok()) << stat.status();
  EXPECT_DOUBLE_EQ(stat->cpu_seconds, 4.0);
  EXPECT_EQ(stat->threads, 7);
  EXPECT_DOUBLE_EQ(stat->start_seconds_after_boot, 123.45);
  EXPECT_EQ(stat->virtual_bytes, 1048576000);
  EXPECT_EQ(stat->resident_bytes, 2500.0 * 4096);

  EXPECT_FALSE(ParseProcStat("4242 no parenthesis 1 2 3", 100, 4096).ok());
  EXPECT_FALSE(ParseProcStat("4242 (cmd) S 1 2 3", 100, 4096).ok());  // too short
  EXPECT_FALSE(ParseProcStat("", 100, 4096).ok());
}

TEST(ProcessMetricsTest, ParsesBootTime) {
  absl::StatusOr<double> boot = ParseBootTime("cpu  1 2 3\nintr 5\nbtime 1700000000\nprocs 3\n");
  ASSERT_TRUE(boot.ok()) << boot.status();
  EXPECT_EQ(*boot, 1700000000);
  EXPECT_EQ(ParseBootTime("cpu 1 2 3\n").status().code(), absl::StatusCode::kNotFound);
}

double Value(const Exposition& registry, const std::string& name) {
  for (const prometheus::MetricFamily& family : registry.Collect()) {
    if (family.name != name || family.metric.size() != 1) continue;
    return family.type == prometheus::MetricType::Counter ? family.metric[0].counter.value
                                                          : family.metric[0].gauge.value;
  }
  ADD_FAILURE() << name << " not collected";
  return -1;
}

TEST(ProcessMetricsTest, LiveValuesOfThisProcess) {
  Exposition registry;
  ExportProcessMetrics(&registry);
  ExportProcessMetrics(&registry);  // again: the same collector, no duplicate families
  EXPECT_EQ(registry.Collect().size(), 7u);
  EXPECT_GT(Value(registry, "process_resident_memory_bytes"), 1e5);
  EXPECT_GE(Value(registry, "process_virtual_memory_bytes"),
            Value(registry, "process_resident_memory_bytes"));
  EXPECT_GE(Value(registry, "process_open_fds"), 3);  // stdin, stdout, stderr
  EXPECT_GT(Value(registry, "process_max_fds"), 0);
  const double start = Value(registry, "process_start_time_seconds");
  EXPECT_GT(start, 1e9);
  EXPECT_LE(start, static_cast<double>(std::time(nullptr)) + 1);
  const double threads = Value(registry, "process_threads");
  std::atomic<bool> release{false};
  std::thread waiter([&release] {
    while (!release) std::this_thread::yield();
  });
  EXPECT_EQ(Value(registry, "process_threads"), threads + 1);
  release = true;
  waiter.join();
  // CPU time is counted: burn some and see it grow.
  const double cpu = Value(registry, "process_cpu_seconds_total");
  volatile double sink = 0;
  while (Value(registry, "process_cpu_seconds_total") <= cpu) {
    for (int i = 0; i < 1000000; ++i) sink = sink + i;
  }
  EXPECT_GT(Value(registry, "process_cpu_seconds_total"), cpu);
}

}  // namespace
}  // namespace fsc::metrics
