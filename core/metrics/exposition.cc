// The process's collectables and their text exposition (see exposition.h).
#include "core/metrics/exposition.h"

#include <prometheus/text_serializer.h>

#include <algorithm>
#include <cmath>

namespace fsc::metrics {

Exposition& Exposition::Default() {
  static Exposition* exposition = [] {
    auto* created = new Exposition();
    created->Add(&DefaultRegistry());
    return created;
  }();
  return *exposition;
}

prometheus::Registry& DefaultRegistry() {
  static auto* registry = new prometheus::Registry();
  return *registry;
}

void Exposition::Add(const prometheus::Collectable* collectable) {
  absl::MutexLock lock(&mu_);
  if (std::find(collectables_.begin(), collectables_.end(), collectable) == collectables_.end()) {
    collectables_.push_back(collectable);
  }
}

void Exposition::Remove(const prometheus::Collectable* collectable) {
  absl::MutexLock lock(&mu_);
  collectables_.erase(std::remove(collectables_.begin(), collectables_.end(), collectable),
                      collectables_.end());
}

std::vector<prometheus::MetricFamily> Exposition::Collect() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<prometheus::MetricFamily> families;
  for (const prometheus::Collectable* collectable : collectables_) {
    for (prometheus::MetricFamily& family : collectable->Collect()) {
      if (!family.metric.empty()) families.push_back(std::move(family));
    }
  }
  return families;
}

std::string Exposition::Text() const { return prometheus::TextSerializer().Serialize(Collect()); }

prometheus::Histogram::BucketBoundaries DefaultLatencyBuckets() {
  return {.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10};
}

prometheus::Histogram::BucketBoundaries ExponentialBuckets(double start, double factor, int count) {
  prometheus::Histogram::BucketBoundaries bounds;
  for (int i = 0; i < count; ++i) bounds.push_back(start * std::pow(factor, i));
  return bounds;
}

namespace {

prometheus::MetricFamily Family(const std::string& name, const std::string& help,
                                prometheus::MetricType type) {
  prometheus::MetricFamily family;
  family.name = name;
  family.help = help;
  family.type = type;
  return family;
}

}  // namespace

prometheus::MetricFamily GaugeFamily(const std::string& name, const std::string& help) {
  return Family(name, help, prometheus::MetricType::Gauge);
}

prometheus::MetricFamily CounterFamily(const std::string& name, const std::string& help) {
  return Family(name, help, prometheus::MetricType::Counter);
}

void AddSample(prometheus::MetricFamily* family,
               const std::vector<std::pair<std::string, std::string>>& labels, double value) {
  prometheus::ClientMetric metric;
  for (const auto& [name, label_value] : labels) metric.label.push_back({name, label_value});
  if (family->type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family->metric.push_back(std::move(metric));
}

}  // namespace fsc::metrics
