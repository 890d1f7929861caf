// Metric families, their children and the registry that names them (see registry.h).
#include "core/metrics/registry.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <type_traits>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/metrics/value_format.h"

namespace fsc::metrics {
namespace {

// Adds `amount` to an atomic double (no fetch_add for floating point before C++20).
void AtomicAdd(std::atomic<double>* target, double amount) {
  double current = target->load(std::memory_order_relaxed);
  while (!target->compare_exchange_weak(current, current + amount, std::memory_order_relaxed)) {
  }
}

bool IsNameStart(char c, bool colon) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
}
bool IsNameChar(char c, bool colon) { return IsNameStart(c, colon) || (c >= '0' && c <= '9'); }

bool IsValidName(absl::string_view name, bool colon) {
  if (name.empty() || !IsNameStart(name[0], colon)) return false;
  return std::all_of(name.begin(), name.end(), [colon](char c) { return IsNameChar(c, colon); });
}

constexpr const char* kHistogramSuffixes[] = {"_bucket", "_sum", "_count"};

// The series names a family of this type and name writes.
std::vector<std::string> SeriesNames(const MetricDesc& desc) {
  std::vector<std::string> names = {desc.name};
  if (desc.type == MetricType::kHistogram) {
    for (const char* suffix : kHistogramSuffixes) names.push_back(desc.name + suffix);
  }
  return names;
}

std::string Describe(const MetricDesc& d) {
  std::string text = absl::StrCat(d.callback ? "callback " : "", MetricTypeName(d.type), " {",
                                  absl::StrJoin(d.label_names, ","), "}");
  if (d.type == MetricType::kHistogram) {
    absl::StrAppend(&text, " buckets [", absl::StrJoin(d.buckets, ","), "]");
  }
  return absl::StrCat(text, " \"", d.help, "\"");
}

bool SameDefinition(const MetricDesc& a, const MetricDesc& b) {
  return a.type == b.type && a.callback == b.callback && a.help == b.help &&
         a.label_names == b.label_names && a.buckets == b.buckets;
}

absl::Status Validate(MetricDesc* desc) {
  if (!IsValidMetricName(desc->name)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid metric name '", desc->name,
                                                   "' (must match [a-zA-Z_:][a-zA-Z0-9_:]*)"));
  }
  std::set<std::string> seen;
  for (const std::string& label : desc->label_names) {
    if (!IsValidLabelName(label)) {
      return absl::InvalidArgumentError(
          absl::StrCat("metric ", desc->name, ": invalid label name '", label,
                       "' (must match [a-zA-Z_][a-zA-Z0-9_]* and not start with __)"));
    }
    if (!seen.insert(label).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("metric ", desc->name, ": label '", label, "' given twice"));
    }
    if (desc->type == MetricType::kHistogram && label == "le") {
      return absl::InvalidArgumentError(
          absl::StrCat("histogram ", desc->name, ": label 'le' is reserved for buckets"));
    }
  }
  if (desc->type != MetricType::kHistogram) return absl::OkStatus();
  std::vector<double>& b = desc->buckets;
  if (!b.empty() && b.back() == HUGE_VAL) b.pop_back();  // +Inf is always there
  for (size_t i = 0; i < b.size(); ++i) {
    if (!std::isfinite(b[i]) || (i > 0 && !(b[i] > b[i - 1]))) {
      return absl::InvalidArgumentError(absl::StrCat(
          "histogram ", desc->name, ": bucket bounds must be finite and strictly increasing, got [",
          absl::StrJoin(b, ", "), "]"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

const char* MetricTypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

bool IsValidMetricName(absl::string_view name) { return IsValidName(name, /*colon=*/true); }

bool IsValidLabelName(absl::string_view name) {
  return IsValidName(name, /*colon=*/false) && !absl::StartsWith(name, "__");
}

// --- values -------------------------------------------------------------------------------------

void Counter::Inc(double amount) {
  if (!(amount >= 0)) return;  // negative or NaN
  AtomicAdd(&value_, amount);
}

void Gauge::Inc(double amount) { AtomicAdd(&value_, amount); }

Histogram::Histogram(std::shared_ptr<const std::vector<double>> bounds)
    : bounds_(std::move(bounds)), counts_(new std::atomic<uint64_t>[bounds_->size() + 1]) {
  for (size_t i = 0; i <= bounds_->size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double value) {
  // The first bound >= value: upper bounds are inclusive. NaN compares false everywhere and so
  // lands past the end, in +Inf.
  size_t index = bounds_->size();
  if (!std::isnan(value)) {
    index = std::lower_bound(bounds_->begin(), bounds_->end(), value) - bounds_->begin();
  }
  counts_[index].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(&sum_, value);
}

std::vector<uint64_t> Histogram::BucketCounts() const {
  std::vector<uint64_t> counts(bounds_->size() + 1);
  for (size_t i = 0; i < counts.size(); ++i) counts[i] = counts_[i].load(std::memory_order_relaxed);
  return counts;
}

uint64_t Histogram::Count() const {
  uint64_t total = 0;
  for (uint64_t c : BucketCounts()) total += c;
  return total;
}

std::vector<double> DefaultLatencyBuckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::vector<double> ExponentialBuckets(double start, double factor, int count) {
  std::vector<double> bounds;
  double bound = start;
  for (int i = 0; i < count; ++i, bound *= factor) bounds.push_back(bound);
  return bounds;
}

std::vector<double> LinearBuckets(double start, double width, int count) {
  std::vector<double> bounds;
  for (int i = 0; i < count; ++i) bounds.push_back(start + i * width);
  return bounds;
}

// --- families -----------------------------------------------------------------------------------

absl::Status FamilyBase::CheckArity(const std::vector<std::string>& values) const {
  if (values.size() == desc_.label_names.size()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("metric ", desc_.name, " has labels {", absl::StrJoin(desc_.label_names, ","),
                   "} but got ", values.size(), " value(s): {", absl::StrJoin(values, ","), "}"));
}

std::vector<std::pair<std::string, std::string>> FamilyBase::LabelPairs(
    const std::vector<std::string>& values) const {
  std::vector<std::pair<std::string, std::string>> pairs;
  pairs.reserve(values.size() + 1);
  for (size_t i = 0; i < values.size(); ++i) pairs.emplace_back(desc_.label_names[i], values[i]);
  return pairs;
}

template <typename T>
Family<T>::Family(MetricDesc desc) : FamilyBase(std::move(desc)) {
  if constexpr (std::is_same_v<T, Histogram>) {
    bounds_ = std::make_shared<const std::vector<double>>(this->desc().buckets);
  }
  // An unlabelled metric exists (at zero) from registration on, as in other Prometheus clients.
  if (this->desc().label_names.empty()) WithLabels({});
}

template <typename T>
absl::StatusOr<T*> Family<T>::Get(const std::vector<std::string>& values) {
  if (absl::Status arity = CheckArity(values); !arity.ok()) return arity;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = children_.find(values);
    if (it != children_.end()) return it->second.get();
  }
  absl::MutexLock lock(&mu_);
  std::unique_ptr<T>& child = children_[values];
  if (!child) {
    if constexpr (std::is_same_v<T, Histogram>) {
      child = std::make_unique<T>(bounds_);
    } else {
      child = std::make_unique<T>();
    }
  }
  return child.get();
}

template <typename T>
T& Family<T>::WithLabels(const std::vector<std::string>& values) {
  absl::StatusOr<T*> child = Get(values);
  if (!child.ok()) {
    std::fprintf(stderr, "fatal: %s\n", std::string(child.status().message()).c_str());
    std::abort();
  }
  return **child;
}

template <typename T>
void Family<T>::Collect(FamilySnapshot* out) const {
  const std::string& name = desc().name;
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& [values, child] : children_) {
    if constexpr (std::is_same_v<T, Histogram>) {
      const std::vector<uint64_t> counts = child->BucketCounts();
      const std::vector<double>& bounds = child->bounds();
      uint64_t cumulative = 0;
      for (size_t i = 0; i < counts.size(); ++i) {
        cumulative += counts[i];
        Sample bucket{name + "_bucket", LabelPairs(values), static_cast<double>(cumulative)};
        bucket.labels.emplace_back("le", i < bounds.size() ? FormatValue(bounds[i]) : "+Inf");
        out->samples.push_back(std::move(bucket));
      }
      out->samples.push_back(Sample{name + "_sum", LabelPairs(values), child->Sum()});
      out->samples.push_back(
          Sample{name + "_count", LabelPairs(values), static_cast<double>(cumulative)});
    } else {
      out->samples.push_back(Sample{name, LabelPairs(values), child->Value()});
    }
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

absl::Status CallbackFamily::Set(const std::vector<std::string>& values, ValueCallback callback) {
  if (absl::Status arity = CheckArity(values); !arity.ok()) return arity;
  if (!callback) {
    return absl::InvalidArgumentError(absl::StrCat("metric ", desc().name, ": empty callback"));
  }
  absl::MutexLock lock(&mu_);
  children_[values] = std::make_shared<const ValueCallback>(std::move(callback));
  return absl::OkStatus();
}

absl::Status CallbackFamily::Remove(const std::vector<std::string>& values) {
  absl::MutexLock lock(&mu_);
  if (children_.erase(values) == 0) {
    return absl::NotFoundError(
        absl::StrCat("metric ", desc().name, " has no series {", absl::StrJoin(values, ","), "}"));
  }
  return absl::OkStatus();
}

void CallbackFamily::Collect(FamilySnapshot* out) const {
  std::vector<std::pair<std::vector<std::string>, std::shared_ptr<const ValueCallback>>> children;
  {
    absl::ReaderMutexLock lock(&mu_);
    children.assign(children_.begin(), children_.end());
  }
  for (const auto& [values, callback] : children) {
    std::optional<double> value = (*callback)();
    if (value.has_value()) out->samples.push_back(Sample{desc().name, LabelPairs(values), *value});
  }
}

// --- registry -----------------------------------------------------------------------------------

Registry& Registry::Default() {
  static Registry* registry = new Registry();
  return *registry;
}

absl::StatusOr<FamilyBase*> Registry::Add(
    MetricDesc desc, const std::function<std::unique_ptr<FamilyBase>(MetricDesc)>& make) {
  if (absl::Status valid = Validate(&desc); !valid.ok()) return valid;
  absl::MutexLock lock(&mu_);
  auto it = families_.find(desc.name);
  if (it != families_.end()) {
    const MetricDesc& existing = it->second->desc();
    if (SameDefinition(existing, desc)) return it->second.get();
    return absl::AlreadyExistsError(absl::StrCat("metric ", desc.name, " is already registered as ",
                                                 Describe(existing), "; now asked for ",
                                                 Describe(desc)));
  }
  // Series names must stay unique across families: a histogram's NAME_sum is not free for a
  // counter, and the other way round.
  for (const std::string& series : SeriesNames(desc)) {
    if (series != desc.name && families_.count(series) > 0) {
      return absl::AlreadyExistsError(absl::StrCat("metric ", desc.name, " would write series ",
                                                   series, ", which is a registered metric"));
    }
  }
  for (const char* suffix : kHistogramSuffixes) {
    if (!absl::EndsWith(desc.name, suffix)) continue;
    auto base = families_.find(desc.name.substr(0, desc.name.size() - std::strlen(suffix)));
    if (base != families_.end() && base->second->desc().type == MetricType::kHistogram) {
      return absl::AlreadyExistsError(absl::StrCat(
          "metric ", desc.name, " is a series of the registered histogram ", base->first));
    }
  }
  std::string name = desc.name;
  std::unique_ptr<FamilyBase>& slot = families_[name];
  slot = make(std::move(desc));
  return slot.get();
}

absl::StatusOr<Family<Counter>*> Registry::AddCounter(absl::string_view name,
                                                      absl::string_view help,
                                                      std::vector<std::string> label_names) {
  MetricDesc desc{std::string(name),
                  std::string(help),
                  MetricType::kCounter,
                  std::move(label_names),
                  {},
                  false};
  absl::StatusOr<FamilyBase*> family = Add(std::move(desc), [](MetricDesc d) {
    return std::make_unique<Family<Counter>>(std::move(d));
  });
  if (!family.ok()) return family.status();
  return static_cast<Family<Counter>*>(*family);
}

absl::StatusOr<Family<Gauge>*> Registry::AddGauge(absl::string_view name, absl::string_view help,
                                                  std::vector<std::string> label_names) {
  MetricDesc desc{
      std::string(name), std::string(help), MetricType::kGauge, std::move(label_names), {}, false};
  absl::StatusOr<FamilyBase*> family = Add(
      std::move(desc), [](MetricDesc d) { return std::make_unique<Family<Gauge>>(std::move(d)); });
  if (!family.ok()) return family.status();
  return static_cast<Family<Gauge>*>(*family);
}

absl::StatusOr<Family<Histogram>*> Registry::AddHistogram(absl::string_view name,
                                                          absl::string_view help,
                                                          std::vector<std::string> label_names,
                                                          std::vector<double> buckets) {
  MetricDesc desc{std::string(name),      std::string(help),  MetricType::kHistogram,
                  std::move(label_names), std::move(buckets), false};
  absl::StatusOr<FamilyBase*> family = Add(std::move(desc), [](MetricDesc d) {
    return std::make_unique<Family<Histogram>>(std::move(d));
  });
  if (!family.ok()) return family.status();
  return static_cast<Family<Histogram>*>(*family);
}

absl::StatusOr<CallbackFamily*> Registry::AddCallbackGauge(absl::string_view name,
                                                           absl::string_view help,
                                                           std::vector<std::string> label_names) {
  MetricDesc desc{
      std::string(name), std::string(help), MetricType::kGauge, std::move(label_names), {}, true};
  absl::StatusOr<FamilyBase*> family = Add(
      std::move(desc), [](MetricDesc d) { return std::make_unique<CallbackFamily>(std::move(d)); });
  if (!family.ok()) return family.status();
  return static_cast<CallbackFamily*>(*family);
}

absl::StatusOr<CallbackFamily*> Registry::AddCallbackCounter(absl::string_view name,
                                                             absl::string_view help,
                                                             std::vector<std::string> label_names) {
  MetricDesc desc{
      std::string(name), std::string(help), MetricType::kCounter, std::move(label_names), {}, true};
  absl::StatusOr<FamilyBase*> family = Add(
      std::move(desc), [](MetricDesc d) { return std::make_unique<CallbackFamily>(std::move(d)); });
  if (!family.ok()) return family.status();
  return static_cast<CallbackFamily*>(*family);
}

int Registry::AddCollectHook(std::function<void()> hook) {
  absl::MutexLock lock(&hooks_mu_);
  const int id = next_hook_id_++;
  hooks_[id] = std::move(hook);
  return id;
}

void Registry::RemoveCollectHook(int id) {
  absl::MutexLock lock(&hooks_mu_);
  hooks_.erase(id);
}

std::vector<FamilySnapshot> Registry::Collect() const {
  {
    // Hooks may register families or create children (mu_ and the families' own locks), never
    // hooks, so holding hooks_mu_ here cannot deadlock.
    absl::MutexLock lock(&hooks_mu_);
    for (const auto& [id, hook] : hooks_) hook();
  }
  std::vector<const FamilyBase*> families;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [name, family] : families_) families.push_back(family.get());
  }
  // Families are never removed, so they outlive the lock; callbacks run without it.
  std::vector<FamilySnapshot> out;
  for (const FamilyBase* family : families) {
    FamilySnapshot snapshot{family->desc().name, family->desc().help, family->desc().type, {}};
    family->Collect(&snapshot);
    if (!snapshot.samples.empty()) out.push_back(std::move(snapshot));
  }
  return out;
}

}  // namespace fsc::metrics
