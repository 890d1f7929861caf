// The metrics registry: counter/gauge/histogram values, bucket maths, label handling, naming
// rules, re-registration, callback families and exact totals under concurrent updates.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include "core/metrics/registry.h"
#include "core/metrics/standard_metrics.h"

namespace fsc::metrics {
namespace {

using ::testing::HasSubstr;

const FamilySnapshot* Find(const std::vector<FamilySnapshot>& families, const std::string& name) {
  for (const FamilySnapshot& f : families) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

TEST(MetricsValuesTest, CounterOnlyGoesUpAndGaugeGoesBothWays) {
  Counter counter;
  counter.Inc();
  counter.Inc(2.5);
  counter.Inc(-10);  // ignored
  counter.Inc(std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(counter.Value(), 3.5);

  Gauge gauge;
  gauge.Set(10);
  gauge.Inc();
  gauge.Dec(4);
  gauge.Inc(-0.5);
  EXPECT_EQ(gauge.Value(), 6.5);
}

TEST(MetricsValuesTest, HistogramBucketUpperBoundsAreInclusive) {
  Histogram h(std::make_shared<const std::vector<double>>(std::vector<double>{1, 2, 5}));
  for (double v : {0.0, 1.0, -3.0}) h.Observe(v);  // le=1 (1 is on the edge)
  h.Observe(std::nextafter(1.0, 2.0));             // just above: le=2
  h.Observe(2);                                    // le=2
  h.Observe(5);                                    // le=5
  h.Observe(5.0001);                               // +Inf
  h.Observe(std::numeric_limits<double>::infinity());
  EXPECT_EQ(h.BucketCounts(), (std::vector<uint64_t>{3, 2, 1, 2}));
  EXPECT_EQ(h.Count(), 8u);
  EXPECT_TRUE(std::isinf(h.Sum()));

  Histogram n(std::make_shared<const std::vector<double>>(std::vector<double>{1}));
  n.Observe(std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(n.BucketCounts(), (std::vector<uint64_t>{0, 1}));
  EXPECT_TRUE(std::isnan(n.Sum()));
}

TEST(MetricsValuesTest, BucketHelpers) {
  EXPECT_EQ(ExponentialBuckets(1, 2, 4), (std::vector<double>{1, 2, 4, 8}));
  EXPECT_EQ(ExponentialBuckets(0.5, 10, 3), (std::vector<double>{0.5, 5, 50}));
  EXPECT_EQ(LinearBuckets(1, 0.5, 3), (std::vector<double>{1, 1.5, 2}));
  EXPECT_TRUE(ExponentialBuckets(1, 2, 0).empty());
  const std::vector<double> latency = DefaultLatencyBuckets();
  ASSERT_EQ(latency.size(), 11u);
  EXPECT_EQ(latency.front(), 0.005);
  EXPECT_EQ(latency.back(), 10);
  Registry registry;
  EXPECT_TRUE(registry.AddHistogram("latency_seconds", "h", {}, latency).ok());
  // A factor of 1 does not make increasing bounds: the registry refuses them.
  EXPECT_EQ(
      registry.AddHistogram("flat_seconds", "h", {}, ExponentialBuckets(1, 1, 3)).status().code(),
      absl::StatusCode::kInvalidArgument);
}

TEST(MetricsRegistryTest, HistogramSnapshotIsCumulativeWithLeLast) {
  Registry registry;
  auto family = registry.AddHistogram("rpc_seconds", "RPC time.", {"method"}, {0.1, 1});
  ASSERT_TRUE(family.ok()) << family.status();
  Histogram& h = (*family)->WithLabels({"Submit"});
  for (double v : {0.05, 0.1, 0.5, 3.0}) h.Observe(v);
  std::vector<FamilySnapshot> snapshot = registry.Collect();
  ASSERT_EQ(snapshot.size(), 1u);
  const std::vector<Sample>& s = snapshot[0].samples;
  ASSERT_EQ(s.size(), 5u);
  using Labels = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(s[0].name, "rpc_seconds_bucket");
  EXPECT_EQ(s[0].labels, (Labels{{"method", "Submit"}, {"le", "0.1"}}));
  EXPECT_EQ(s[0].value, 2);
  EXPECT_EQ(s[1].labels, (Labels{{"method", "Submit"}, {"le", "1"}}));
  EXPECT_EQ(s[1].value, 3);
  EXPECT_EQ(s[2].labels, (Labels{{"method", "Submit"}, {"le", "+Inf"}}));
  EXPECT_EQ(s[2].value, 4);
  EXPECT_EQ(s[3].name, "rpc_seconds_sum");
  EXPECT_DOUBLE_EQ(s[3].value, 3.65);
  EXPECT_EQ(s[4].name, "rpc_seconds_count");
  EXPECT_EQ(s[4].value, 4);
  EXPECT_EQ(s[4].labels, (Labels{{"method", "Submit"}}));
}

TEST(MetricsRegistryTest, OrderIsFamiliesByNameChildrenByValuesLabelsAsRegistered) {
  Registry registry;
  auto zeta = registry.AddGauge("zeta", "z", {"region", "az"});
  auto alpha = registry.AddCounter("alpha_total", "a");
  ASSERT_TRUE(zeta.ok() && alpha.ok());
  (*zeta)->WithLabels({"west", "b"}).Set(1);
  (*zeta)->WithLabels({"east", "z"}).Set(2);
  (*zeta)->WithLabels({"west", "a"}).Set(3);
  // Labelled but never used: left out. Unlabelled: there at zero from registration on.
  ASSERT_TRUE(registry.AddGauge("middle", "m", {"x"}).ok());
  std::vector<FamilySnapshot> snapshot = registry.Collect();
  ASSERT_EQ(snapshot.size(), 2u);
  EXPECT_EQ(snapshot[0].name, "alpha_total");
  EXPECT_EQ(snapshot[0].type, MetricType::kCounter);
  ASSERT_EQ(snapshot[0].samples.size(), 1u);
  EXPECT_EQ(snapshot[0].samples[0].value, 0);
  EXPECT_TRUE(snapshot[0].samples[0].labels.empty());
  EXPECT_EQ(snapshot[1].name, "zeta");
  ASSERT_EQ(snapshot[1].samples.size(), 3u);
  using Labels = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(snapshot[1].samples[0].labels, (Labels{{"region", "east"}, {"az", "z"}}));
  EXPECT_EQ(snapshot[1].samples[1].labels, (Labels{{"region", "west"}, {"az", "a"}}));
  EXPECT_EQ(snapshot[1].samples[2].labels, (Labels{{"region", "west"}, {"az", "b"}}));
  EXPECT_EQ(snapshot[1].samples[1].value, 3);
}

TEST(MetricsRegistryTest, ChildrenAreStableAndArityIsChecked) {
  Registry registry;
  Family<Counter>* family = *registry.AddCounter("events_total", "e", {"kind", "result"});
  Counter& ok = family->WithLabels({"extract", "ok"});
  for (int i = 0; i < 2000; ++i) family->WithLabels({"k" + std::to_string(i), "x"});
  EXPECT_EQ(&ok, &family->WithLabels({"extract", "ok"}));
  EXPECT_EQ(*family->Get({"extract", "ok"}), &ok);
  EXPECT_EQ(family->Get({"extract"}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(family->Get({"a", "b", "c"}).status().message()),
              HasSubstr("events_total"));
  EXPECT_DEATH(family->WithLabels({"only-one"}), "events_total");
}

TEST(MetricsRegistryTest, NamesFollowPrometheusRules) {
  for (const char* good : {"a", "_x", "a:b", "fsc_jobs", "A9_:z"}) {
    EXPECT_TRUE(IsValidMetricName(good)) << good;
  }
  for (const char* bad : {"", "9a", "a-b", "a b", "é", "a.b"}) {
    EXPECT_FALSE(IsValidMetricName(bad)) << bad;
  }
  for (const char* good : {"a", "_x", "method", "Z9"}) EXPECT_TRUE(IsValidLabelName(good)) << good;
  for (const char* bad : {"", "__name__", "__x", "a:b", "1a", "a-b"}) {
    EXPECT_FALSE(IsValidLabelName(bad)) << bad;
  }

  Registry registry;
  EXPECT_EQ(registry.AddCounter("bad-name", "h").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddGauge("g", "h", {"__reserved"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddGauge("g", "h", {"a", "a"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddHistogram("h", "h", {"le"}, {1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(registry.AddGauge("le_gauge", "a gauge may use le", {"le"}).ok());
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (const std::vector<double>& bounds :
       {std::vector<double>{2, 1}, {1, 1}, {nan}, {-HUGE_VAL, 1}, {1, HUGE_VAL, 2}}) {
    EXPECT_EQ(registry.AddHistogram("h", "h", {}, bounds).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  // Nothing invalid got registered: "h" and "g" are still free for any definition.
  EXPECT_TRUE(registry.AddHistogram("h", "h", {}, {1, 2}).ok());
  EXPECT_TRUE(registry.AddCounter("g", "h").ok());
}

TEST(MetricsRegistryTest, SameDefinitionReturnsTheFamilyOtherDefinitionsFail) {
  Registry registry;
  Family<Counter>* c = *registry.AddCounter("requests_total", "Requests.", {"code"});
  EXPECT_EQ(*registry.AddCounter("requests_total", "Requests.", {"code"}), c);
  for (absl::Status status :
       {registry.AddGauge("requests_total", "Requests.", {"code"}).status(),
        registry.AddCounter("requests_total", "Requests.", {}).status(),
        registry.AddCounter("requests_total", "Requests.", {"kode"}).status(),
        registry.AddCounter("requests_total", "Other help.", {"code"}).status(),
        registry.AddCallbackCounter("requests_total", "Requests.", {"code"}).status()}) {
    EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists) << status;
  }
  EXPECT_THAT(
      std::string(registry.AddGauge("requests_total", "Requests.", {"code"}).status().message()),
      HasSubstr("already registered as counter {code}"));

  Family<Histogram>* h = *registry.AddHistogram("latency_seconds", "L.", {}, {1, 2});
  // A trailing +Inf is implied, so it makes no difference.
  EXPECT_EQ(*registry.AddHistogram("latency_seconds", "L.", {}, {1, 2, HUGE_VAL}), h);
  EXPECT_EQ(registry.AddHistogram("latency_seconds", "L.", {}, {1, 3}).status().code(),
            absl::StatusCode::kAlreadyExists);

  // Series names may not collide across families.
  EXPECT_EQ(registry.AddCounter("latency_seconds_count", "c").status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(registry.AddGauge("latency_seconds_bucket", "g").status().code(),
            absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(registry.AddGauge("size_sum", "g").ok());
  EXPECT_EQ(registry.AddHistogram("size", "h", {}, {1}).status().code(),
            absl::StatusCode::kAlreadyExists);
}

TEST(MetricsRegistryTest, CallbackFamiliesRunAtCollection) {
  Registry registry;
  CallbackFamily* depth = *registry.AddCallbackGauge("queue_depth", "Depth.", {"queue"});
  int calls = 0;
  ASSERT_TRUE(
      depth->Set({"extract"}, [&calls]() -> std::optional<double> { return ++calls; }).ok());
  ASSERT_TRUE(depth->Set({"broken"}, []() -> std::optional<double> { return std::nullopt; }).ok());
  EXPECT_EQ(depth->Set({"a", "b"}, [] { return 1.0; }).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(depth->Set({"x"}, nullptr).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(calls, 0);

  std::vector<FamilySnapshot> first = registry.Collect();
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(first[0].samples.size(), 1u);  // nullopt: left out
  EXPECT_EQ(first[0].samples[0].value, 1);
  EXPECT_EQ(first[0].type, MetricType::kGauge);
  EXPECT_EQ(registry.Collect()[0].samples[0].value, 2);

  // Replacing and removing.
  ASSERT_TRUE(depth->Set({"extract"}, [] { return 42.0; }).ok());
  EXPECT_EQ(registry.Collect()[0].samples[0].value, 42);
  EXPECT_TRUE(depth->Remove({"extract"}).ok());
  EXPECT_EQ(depth->Remove({"extract"}).code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(registry.Collect().empty());

  CallbackFamily* cpu = *registry.AddCallbackCounter("cpu_seconds_total", "CPU.");
  ASSERT_TRUE(cpu->Set({}, [] { return 1.5; }).ok());
  EXPECT_EQ(registry.Collect()[0].type, MetricType::kCounter);
  EXPECT_EQ(registry.AddCounter("cpu_seconds_total", "CPU.").status().code(),
            absl::StatusCode::kAlreadyExists);
}

TEST(MetricsRegistryTest, ConcurrentUpdatesGiveExactTotals) {
  Registry registry;
  Family<Counter>* counters = *registry.AddCounter("ops_total", "Ops.", {"worker"});
  Family<Histogram>* histograms = *registry.AddHistogram("op_seconds", "Op.", {}, {0.5, 1.5});
  Gauge& gauge = (*registry.AddGauge("in_flight", "g"))->WithLabels();
  constexpr int kThreads = 8, kIterations = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Counter& shared = counters->WithLabels({"shared"});
      Histogram& h = histograms->WithLabels();
      for (int i = 0; i < kIterations; ++i) {
        shared.Inc();
        // Children created concurrently from every thread, some of them the same.
        counters->WithLabels({"w" + std::to_string((t + i) % 16)}).Inc(2);
        h.Observe(i % 3);  // 0 -> le=0.5, 1 -> le=1.5, 2 -> +Inf
        gauge.Inc();
        gauge.Dec(0.5);
      }
    });
  }
  // Scrapes while the writers run must not disturb them.
  for (int i = 0; i < 20; ++i) registry.Collect();
  for (std::thread& thread : threads) thread.join();

  EXPECT_EQ(counters->WithLabels({"shared"}).Value(), kThreads * kIterations);
  double per_worker = 0;
  for (int w = 0; w < 16; ++w)
    per_worker += counters->WithLabels({"w" + std::to_string(w)}).Value();
  EXPECT_EQ(per_worker, 2.0 * kThreads * kIterations);
  Histogram& h = histograms->WithLabels();
  EXPECT_EQ(h.Count(), static_cast<uint64_t>(kThreads * kIterations));
  const std::vector<uint64_t> buckets = h.BucketCounts();
  EXPECT_EQ(buckets[0] + buckets[1] + buckets[2], h.Count());
  uint64_t ones = 0;
  double sum = 0;
  for (int i = 0; i < kIterations; ++i) {
    ones += i % 3 == 1;
    sum += i % 3;
  }
  EXPECT_EQ(buckets[1], kThreads * ones);
  EXPECT_EQ(h.Sum(), kThreads * sum);
  EXPECT_EQ(gauge.Value(), 0.5 * kThreads * kIterations);
  const FamilySnapshot* ops = Find(registry.Collect(), "ops_total");
  ASSERT_NE(ops, nullptr);
  EXPECT_EQ(ops->samples.size(), 17u);
}

TEST(MetricsRegistryTest, DefaultRegistryIsOneInstance) {
  EXPECT_EQ(&Registry::Default(), &Registry::Default());
}

TEST(StandardMetricsTest, RegisteringTwiceGivesTheSameFamilies) {
  Registry registry;
  absl::StatusOr<StandardMetrics> first = RegisterStandardMetrics(&registry);
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<StandardMetrics> second = RegisterStandardMetrics(&registry);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(first->jobs, second->jobs);
  EXPECT_EQ(first->queue_depth, second->queue_depth);
  EXPECT_EQ(first->rpc_duration_seconds, second->rpc_duration_seconds);
  EXPECT_EQ(first->checkpoint_seconds, second->checkpoint_seconds);
  // Every family has help text; counters end in _total.
  first->jobs->WithLabels({"queued"});
  for (const FamilySnapshot& f : registry.Collect()) {
    EXPECT_FALSE(f.help.empty()) << f.name;
    EXPECT_EQ(f.name.rfind("fsc_", 0), 0u) << f.name;
    if (f.type == MetricType::kCounter) {
      EXPECT_EQ(f.name.substr(f.name.size() - 6), "_total") << f.name;
    }
  }
  // A process that defined one of the names differently cannot register the standard set.
  Registry clash;
  ASSERT_TRUE(clash.AddCounter("fsc_queue_depth", "Something else.").ok());
  EXPECT_EQ(RegisterStandardMetrics(&clash).status().code(), absl::StatusCode::kAlreadyExists);
}

TEST(RegistryTest, CollectHooksRunBeforeEachCollectUntilRemoved) {
  Registry registry;
  Gauge& depth = (*registry.AddGauge("fsc_test_depth", "Depth."))->WithLabels();
  int calls = 0;
  const int id = registry.AddCollectHook([&] { depth.Set(++calls * 10); });
  std::vector<FamilySnapshot> first = registry.Collect();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].samples[0].value, 10);  // the hook ran before the values were read
  EXPECT_EQ(registry.Collect()[0].samples[0].value, 20);
  // A hook may create children (it runs outside the families' locks).
  const int second = registry.AddCollectHook([&] {
    (*registry.AddGauge("fsc_test_made", "Made in a hook.", {"k"}))->WithLabels({"v"}).Set(1);
  });
  EXPECT_EQ(registry.Collect().size(), 2u);
  registry.RemoveCollectHook(id);
  registry.RemoveCollectHook(second);
  registry.RemoveCollectHook(12345);                      // unknown: ignored
  EXPECT_EQ(registry.Collect()[0].samples[0].value, 30);  // no hook ran
  EXPECT_EQ(calls, 3);
}

}  // namespace
}  // namespace fsc::metrics
