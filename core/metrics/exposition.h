// What a process exports at /metrics, on the Prometheus C++ client (prometheus-cpp core):
//
//   Exposition      the prometheus::Collectable objects a scrape collects, in order: registries
//                   of counters, gauges and histograms, and collectors that compute their values
//                   at scrape time (the coordinator's jobs by state and queue depth, process_*,
//                   GPU memory). Text() is prometheus::TextSerializer's exposition of them.
//   Labeled<T>      a registry family with its label names (and a histogram's buckets) fixed at
//                   registration, so callers give label values only.
//   GaugeFamily...  building blocks for Collectable::Collect().
//
//   prometheus::Registry registry;
//   metrics::Exposition exposition;
//   exposition.Add(&registry);
//   auto& frames = prometheus::BuildCounter().Name("fsc_x_total").Help("...").Register(registry);
//   frames.Add({}).Increment();                  // a child: one atomic add per update
//   std::string text = exposition.Text();
//
// Exposition::Default() is the process-wide one that MetricsServer serves by default; it holds
// DefaultRegistry(), where the standard families (standard_metrics.h) live. Tests make their own.
// Help texts must not hold a backslash or a newline: prometheus-cpp 1.0 writes them unescaped.
#ifndef FSC_CORE_METRICS_EXPOSITION_H_
#define FSC_CORE_METRICS_EXPOSITION_H_

#include <prometheus/collectable.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace fsc::metrics {

// The Content-Type of a /metrics answer (Prometheus text format 0.0.4).
inline constexpr char kTextContentType[] = "text/plain; version=0.0.4; charset=utf-8";

class Exposition {
 public:
  Exposition() = default;
  Exposition(const Exposition&) = delete;
  Exposition& operator=(const Exposition&) = delete;

  // The process-wide exposition (never destroyed); DefaultRegistry() is its first collectable.
  static Exposition& Default();

  // Collects `collectable` in every scrape from now until Remove(collectable); it must stay
  // alive until then. Adding it twice has no effect.
  void Add(const prometheus::Collectable* collectable);
  // Stops collecting it. Waits for scrapes collecting it, so it may be destroyed once this
  // returns. Unknown collectables are ignored.
  void Remove(const prometheus::Collectable* collectable);

  // Every collectable's families, in the order added; families without a series are left out.
  std::vector<prometheus::MetricFamily> Collect() const;
  // The text exposition of Collect().
  std::string Text() const;

 private:
  mutable absl::Mutex mu_;  // held shared by scrapes, exclusively by Add/Remove
  std::vector<const prometheus::Collectable*> collectables_ ABSL_GUARDED_BY(mu_);
};

// The registry of Exposition::Default() (never destroyed).
prometheus::Registry& DefaultRegistry();

// A family whose children are looked up by label values, in the order of the label names given
// at registration. Children are never removed, so a reference stays valid as long as the
// registry.
template <typename T>
class Labeled {
 public:
  Labeled() = default;  // no family: assign one before use
  Labeled(prometheus::Family<T>& family, std::vector<std::string> label_names,
          prometheus::Histogram::BucketBoundaries buckets = {})
      : family_(&family), label_names_(std::move(label_names)), buckets_(std::move(buckets)) {}

  // The child with these label values, created on first use. A wrong number of values is a
  // programming error: it aborts with a message.
  T& WithLabels(const std::vector<std::string>& values) const {
    if (values.size() != label_names_.size()) {
      std::fprintf(stderr, "fatal: metric %s takes %zu label values, got %zu\n",
                   family_->GetName().c_str(), label_names_.size(), values.size());
      std::abort();
    }
    prometheus::Labels labels;
    for (size_t i = 0; i < values.size(); ++i) labels[label_names_[i]] = values[i];
    if constexpr (std::is_same_v<T, prometheus::Histogram>) {
      return family_->Add(labels, buckets_);
    } else {
      return family_->Add(labels);
    }
  }
  const std::vector<std::string>& label_names() const { return label_names_; }

 private:
  prometheus::Family<T>* family_ = nullptr;
  std::vector<std::string> label_names_;
  prometheus::Histogram::BucketBoundaries buckets_;
};

// Prometheus client defaults for request latencies in seconds: .005 .01 .025 .05 .1 .25 .5 1 2.5
// 5 10.
prometheus::Histogram::BucketBoundaries DefaultLatencyBuckets();
// `count` bounds start, start*factor, start*factor^2, ...
prometheus::Histogram::BucketBoundaries ExponentialBuckets(double start, double factor, int count);

// A family of scrape-time values, for Collectable::Collect(): AddSample appends one series.
prometheus::MetricFamily GaugeFamily(const std::string& name, const std::string& help);
prometheus::MetricFamily CounterFamily(const std::string& name, const std::string& help);
void AddSample(prometheus::MetricFamily* family,
               const std::vector<std::pair<std::string, std::string>>& labels, double value);

}  // namespace fsc::metrics

#endif  // FSC_CORE_METRICS_EXPOSITION_H_
