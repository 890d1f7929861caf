// core/metrics on prometheus-cpp: an Exposition collects registries and scrape-time collectables
// in order and leaves empty families out; Remove waits for a scrape in progress; Labeled children
// (label order, histogram buckets, wrong arity); the standard families and the text exposition.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "core/metrics/exposition.h"
#include "core/metrics/standard_metrics.h"

namespace fsc::metrics {
namespace {

using ::testing::HasSubstr;

// A collectable with one gauge family whose Collect can be held open by the test.
class FakeCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override {
    {
      std::unique_lock<std::mutex> lock(mu_);
      entered_ = true;
      changed_.notify_all();
      changed_.wait(lock, [this] { return !hold_; });
    }
    prometheus::MetricFamily family = GaugeFamily("fsc_test_fake", "Fake.");
    AddSample(&family, {{"kind", "x"}}, 7);
    finished_ = true;
    return {family, GaugeFamily("fsc_test_empty", "Has no series.")};
  }
  void Hold() { hold_ = true; }
  void WaitEntered() {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock, [this] { return entered_; });
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = false;
    changed_.notify_all();
  }
  bool finished() const { return finished_; }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  mutable bool entered_ = false;
  bool hold_ = false;
  mutable std::atomic<bool> finished_{false};
};

TEST(ExpositionTest, CollectsInOrderAndLeavesEmptyFamiliesOut) {
  prometheus::Registry registry;
  auto& frames =
      prometheus::BuildCounter().Name("fsc_test_frames_total").Help("F.").Register(registry);
  frames.Add({}).Increment(3);
  prometheus::BuildGauge().Name("fsc_test_unused").Help("No children.").Register(registry);
  FakeCollector fake;
  Exposition exposition;
  exposition.Add(&registry);
  exposition.Add(&fake);
  exposition.Add(&registry);  // again: no effect
  std::vector<std::string> names;
  for (const prometheus::MetricFamily& family : exposition.Collect()) names.push_back(family.name);
  EXPECT_EQ(names, (std::vector<std::string>{"fsc_test_frames_total", "fsc_test_fake"}));
  const std::string text = exposition.Text();
  EXPECT_THAT(text, HasSubstr("# TYPE fsc_test_frames_total counter\nfsc_test_frames_total 3\n"));
  EXPECT_THAT(text, HasSubstr("fsc_test_fake{kind=\"x\"} 7\n"));

  exposition.Remove(&fake);
  exposition.Remove(&fake);  // unknown now: ignored
  EXPECT_EQ(exposition.Collect().size(), 1u);
}

TEST(ExpositionTest, RemoveWaitsForTheScrapeInProgress) {
  FakeCollector fake;
  fake.Hold();
  Exposition exposition;
  exposition.Add(&fake);
  std::thread scrape([&] { exposition.Collect(); });
  fake.WaitEntered();
  std::atomic<bool> finished_when_removed{false};
  std::thread remove([&] {
    exposition.Remove(&fake);
    finished_when_removed = fake.finished();
  });
  fake.Release();
  remove.join();
  scrape.join();
  EXPECT_TRUE(finished_when_removed);  // Remove never returns while Collect runs
}

TEST(LabeledTest, ChildrenByLabelValuesInDeclaredOrder) {
  prometheus::Registry registry;
  Labeled<prometheus::Gauge> loss(
      prometheus::BuildGauge().Name("fsc_test_loss").Help("L.").Register(registry),
      {"side", "net"});
  loss.WithLabels({"a", "generator"}).Set(0.5);
  EXPECT_EQ(&loss.WithLabels({"a", "generator"}), &loss.WithLabels({"a", "generator"}));
  EXPECT_NE(&loss.WithLabels({"a", "generator"}), &loss.WithLabels({"generator", "a"}));
  Labeled<prometheus::Histogram> seconds(
      prometheus::BuildHistogram().Name("fsc_test_seconds").Help("S.").Register(registry),
      {"phase"}, ExponentialBuckets(0.5, 2, 3));
  seconds.WithLabels({"compute"}).Observe(1.5);
  Exposition exposition;
  exposition.Add(&registry);
  const std::string text = exposition.Text();
  EXPECT_THAT(text, HasSubstr("fsc_test_loss{net=\"generator\",side=\"a\"} 0.5\n"));
  EXPECT_THAT(text, HasSubstr("fsc_test_seconds_bucket{phase=\"compute\",le=\"1\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("fsc_test_seconds_bucket{phase=\"compute\",le=\"2\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("fsc_test_seconds_bucket{phase=\"compute\",le=\"+Inf\"} 1\n"));
  EXPECT_DEATH(loss.WithLabels({"a"}), "fsc_test_loss takes 2 label values, got 1");
}

TEST(LabeledTest, Buckets) {
  EXPECT_EQ(ExponentialBuckets(1, 2, 4), (prometheus::Histogram::BucketBoundaries{1, 2, 4, 8}));
  EXPECT_TRUE(ExponentialBuckets(1, 2, 0).empty());
  const auto latency = DefaultLatencyBuckets();
  ASSERT_EQ(latency.size(), 11u);
  EXPECT_EQ(latency.front(), 0.005);
  EXPECT_EQ(latency.back(), 10);
}

TEST(StandardMetricsTest, EveryFamilyTheDashboardsUseIsRegistered) {
  prometheus::Registry registry;
  absl::StatusOr<StandardMetrics> m = RegisterStandardMetrics(&registry);
  ASSERT_TRUE(m.ok()) << m.status();
  absl::StatusOr<StandardMetrics> again = RegisterStandardMetrics(&registry);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->lease_expiries, m->lease_expiries);  // the same children
  // Labelled families show once they have a child.
  m->rpc_duration_seconds.WithLabels({"fsc.proto.ClientService/SubmitJob", "OK"});
  m->train_examples_per_second.WithLabels({"0"});
  m->train_loss.WithLabels({"a"});
  m->train_mask_loss.WithLabels({"a"});
  m->train_gan_loss.WithLabels({"a", "generator"});
  m->train_step_seconds.WithLabels({"compute"});
  m->frames_per_second.WithLabels({"extract"});
  std::set<std::string> names;
  for (const prometheus::MetricFamily& family : registry.Collect()) names.insert(family.name);
  EXPECT_EQ(names,
            (std::set<std::string>{
                "fsc_lease_expiries_total", "fsc_rpc_duration_seconds", "fsc_train_iteration",
                "fsc_train_examples_per_second", "fsc_train_loss", "fsc_train_mask_loss",
                "fsc_train_gan_loss", "fsc_train_step_seconds", "fsc_allreduce_bytes_total",
                "fsc_checkpoint_seconds", "fsc_checkpoint_bytes", "fsc_extract_frames_total",
                "fsc_extract_faces_total", "fsc_convert_frames_total", "fsc_convert_faces_total",
                "fsc_frames_per_second"}));
  // A name taken by another type is refused, not merged.
  prometheus::Registry wrong;
  prometheus::BuildGauge().Name("fsc_extract_frames_total").Help("x").Register(wrong);
  EXPECT_EQ(RegisterStandardMetrics(&wrong).status().code(), absl::StatusCode::kAlreadyExists);
}

}  // namespace
}  // namespace fsc::metrics
