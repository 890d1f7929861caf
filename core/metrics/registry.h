// A small Prometheus-style metrics registry: counters, gauges and histograms with labels.
//
// A family is one metric name with fixed label names (given at registration); a child is one set
// of label values of a family. Callers look a child up once and keep the reference:
//
//   metrics::Family<metrics::Counter>* frames =
//       *registry.AddCounter("fsc_extract_frames_total", "Frames decoded.", {"source"});
//   metrics::Counter& video = frames->WithLabels({"video"});  // cached by the caller
//   video.Inc();                                             // one atomic, no lock
//
// Updating a child is lock-free (atomics only). A lock is taken to look up or create a child and
// to collect; children are never removed, so a reference stays valid as long as the registry.
// Callback families (AddCallbackGauge / AddCallbackCounter) compute their values at scrape time
// from a function, e.g. queue depth from a database or CPU time from /proc.
//
// Names follow Prometheus' rules: metric names match [a-zA-Z_:][a-zA-Z0-9_:]*, label names
// [a-zA-Z_][a-zA-Z0-9_]* and must not start with "__"; histograms may not use the label "le".
// Registering a name again with the same definition (type, help, label names, buckets) returns
// the existing family; any other definition is an AlreadyExists error. So is a name that clashes
// with a histogram's generated series (NAME_bucket, NAME_sum, NAME_count).
//
// Help texts and label values are exposed as given (escaped); they should be UTF-8.
//
// Collect hooks (AddCollectHook) run at the start of every Collect(): a process that keeps
// gauges of a database (the coordinator's jobs and workers) refreshes them only when scraped.
//
// Registry::Default() is the process-wide registry that /metrics serves; tests construct their
// own. Collect() snapshots everything in a deterministic order (families by name, children by
// label values) for core/metrics/text_format.
#ifndef FSC_CORE_METRICS_REGISTRY_H_
#define FSC_CORE_METRICS_REGISTRY_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace fsc::metrics {

enum class MetricType { kCounter, kGauge, kHistogram };

// "counter", "gauge", "histogram": the word of a # TYPE line.
const char* MetricTypeName(MetricType type);

// One exposed series: full name (with _bucket/_sum/_count for histograms), labels in exposition
// order (registration order, then "le"), value.
struct Sample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};

// One family at collection time.
struct FamilySnapshot {
  std::string name;
  std::string help;
  MetricType type = MetricType::kGauge;
  std::vector<Sample> samples;
};

// A value that only goes up (events, bytes, seconds spent). Inc with a negative or NaN amount is
// ignored: a counter never goes down.
class Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  void Inc(double amount = 1);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// A value that goes up and down (queue depth, loss, bytes in use).
class Gauge {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Inc(double amount = 1);
  void Dec(double amount = 1) { Inc(-amount); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Counts observations into buckets with inclusive upper bounds (an observation equal to a bound
// falls in that bucket), plus their sum and count. Exposed cumulatively: NAME_bucket{le="b"} is
// the number of observations <= b, the last bucket is le="+Inf" and equals NAME_count. NaN
// observations count only in +Inf (and make the sum NaN).
class Histogram {
 public:
  // `bounds`: strictly increasing finite upper bounds (validated by the registry).
  explicit Histogram(std::shared_ptr<const std::vector<double>> bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  void Observe(double value);

  // Consistent enough for tests: per-bucket (not cumulative) counts, the last one being +Inf.
  std::vector<uint64_t> BucketCounts() const;
  uint64_t Count() const;
  double Sum() const { return sum_.load(std::memory_order_relaxed); }
  const std::vector<double>& bounds() const { return *bounds_; }

 private:
  std::shared_ptr<const std::vector<double>> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_->size() + 1 (last: +Inf)
  std::atomic<double> sum_{0};
};

// Prometheus client defaults for request latencies in seconds:
// .005 .01 .025 .05 .1 .25 .5 1 2.5 5 10.
std::vector<double> DefaultLatencyBuckets();
// `count` bounds start, start*factor, start*factor^2, ... (start > 0 and factor > 1 for a
// valid histogram; AddHistogram rejects anything else).
std::vector<double> ExponentialBuckets(double start, double factor, int count);
// `count` bounds start, start+width, ...
std::vector<double> LinearBuckets(double start, double width, int count);

// What makes two registrations the same family.
struct MetricDesc {
  std::string name;
  std::string help;
  MetricType type = MetricType::kGauge;
  std::vector<std::string> label_names;
  std::vector<double> buckets;  // histograms only
  bool callback = false;        // values come from functions at scrape time
};

// Common part of every family (internal to the registry and its tests).
class FamilyBase {
 public:
  explicit FamilyBase(MetricDesc desc) : desc_(std::move(desc)) {}
  virtual ~FamilyBase() = default;
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  const MetricDesc& desc() const { return desc_; }
  // Appends this family's samples (children in label-value order) to `out`.
  virtual void Collect(FamilySnapshot* out) const = 0;

 protected:
  // InvalidArgument unless `values` has one value per label name.
  absl::Status CheckArity(const std::vector<std::string>& values) const;
  // Label pairs of a child, in registration order.
  std::vector<std::pair<std::string, std::string>> LabelPairs(
      const std::vector<std::string>& values) const;

 private:
  const MetricDesc desc_;
};

// The children of one counter, gauge or histogram family.
template <typename T>
class Family : public FamilyBase {
 public:
  explicit Family(MetricDesc desc);

  // The child for these label values (one per label name, in registration order), created on
  // first use. A wrong number of values is a programming error and aborts with a message; use
  // Get where the values come from outside.
  T& WithLabels(const std::vector<std::string>& values = {});
  // As WithLabels, with a wrong number of values as InvalidArgument.
  absl::StatusOr<T*> Get(const std::vector<std::string>& values);

  void Collect(FamilySnapshot* out) const override;

 private:
  std::shared_ptr<const std::vector<double>> bounds_;  // histograms only
  mutable absl::Mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<T>> children_ ABSL_GUARDED_BY(mu_);
};

// A value computed when the registry is collected; nullopt leaves the series out of that scrape.
using ValueCallback = std::function<std::optional<double>()>;

// A gauge or counter family whose children are functions. Callbacks run at collection time on
// the scraping thread, outside the registry's locks; they must be thread-safe and quick.
class CallbackFamily : public FamilyBase {
 public:
  explicit CallbackFamily(MetricDesc desc) : FamilyBase(std::move(desc)) {}

  // Sets (or replaces) the function of the child with these label values.
  absl::Status Set(const std::vector<std::string>& values, ValueCallback callback);
  // Removes that child; NotFound if it has none.
  absl::Status Remove(const std::vector<std::string>& values);

  void Collect(FamilySnapshot* out) const override;

 private:
  mutable absl::Mutex mu_;
  std::map<std::vector<std::string>, std::shared_ptr<const ValueCallback>> children_
      ABSL_GUARDED_BY(mu_);
};

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // The process-wide registry (never destroyed).
  static Registry& Default();

  absl::StatusOr<Family<Counter>*> AddCounter(absl::string_view name, absl::string_view help,
                                              std::vector<std::string> label_names = {});
  absl::StatusOr<Family<Gauge>*> AddGauge(absl::string_view name, absl::string_view help,
                                          std::vector<std::string> label_names = {});
  absl::StatusOr<Family<Histogram>*> AddHistogram(absl::string_view name, absl::string_view help,
                                                  std::vector<std::string> label_names,
                                                  std::vector<double> buckets);
  absl::StatusOr<CallbackFamily*> AddCallbackGauge(absl::string_view name, absl::string_view help,
                                                   std::vector<std::string> label_names = {});
  absl::StatusOr<CallbackFamily*> AddCallbackCounter(absl::string_view name, absl::string_view help,
                                                     std::vector<std::string> label_names = {});

  // Every family, sorted by name; families without any series are left out. Runs the collect
  // hooks first.
  std::vector<FamilySnapshot> Collect() const;

  // Registers a function run at the start of each Collect() (on the scraping thread, one hook at
  // a time, outside the families' locks); it typically Sets gauges. Returns its id.
  int AddCollectHook(std::function<void()> hook);
  // Unregisters a hook; when this returns the hook is not running and never runs again, so
  // what it captured may be destroyed. Unknown ids are ignored.
  void RemoveCollectHook(int id);

 private:
  // Validates `desc`, then returns the existing family of that name (same definition) or the
  // one `make` creates.
  absl::StatusOr<FamilyBase*> Add(
      MetricDesc desc, const std::function<std::unique_ptr<FamilyBase>(MetricDesc)>& make);

  mutable absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<FamilyBase>> families_ ABSL_GUARDED_BY(mu_);

  // Held while hooks run and while one is removed, so removal waits for a running hook.
  mutable absl::Mutex hooks_mu_;
  std::map<int, std::function<void()>> hooks_ ABSL_GUARDED_BY(hooks_mu_);
  int next_hook_id_ ABSL_GUARDED_BY(hooks_mu_) = 1;
};

// Prometheus' naming rules, as used by the registry.
bool IsValidMetricName(absl::string_view name);
bool IsValidLabelName(absl::string_view name);

}  // namespace fsc::metrics

#endif  // FSC_CORE_METRICS_REGISTRY_H_
