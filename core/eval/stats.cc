// Summary statistics and histograms of evaluation figures.
#include "core/eval/stats.h"

#include <algorithm>
#include <cmath>

namespace fsc::eval {
namespace {

// Linear interpolation between closest ranks of sorted `v` (not empty).
double Percentile(const std::vector<double>& v, double q) {
  const double position = q * (v.size() - 1);
  const size_t below = static_cast<size_t>(std::floor(position));
  const size_t above = std::min(below + 1, v.size() - 1);
  return v[below] + (position - below) * (v[above] - v[below]);
}

}  // namespace

Summary Summarize(const std::vector<double>& values) {
  std::vector<double> v;
  v.reserve(values.size());
  for (double x : values) {
    if (std::isfinite(x)) v.push_back(x);
  }
  Summary s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.count = static_cast<int64_t>(v.size());
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / v.size();
  s.median = Percentile(v, 0.5);
  s.p90 = Percentile(v, 0.9);
  s.min = v.front();
  s.max = v.back();
  return s;
}

Histogram MakeHistogram(const std::vector<double>& values, double low, double high, int bins) {
  Histogram h;
  if (bins < 1 || !(low < high)) return h;
  h.low = low;
  h.high = high;
  h.counts.assign(bins, 0);
  const double width = (high - low) / bins;
  for (double x : values) {
    if (!std::isfinite(x)) continue;
    const int bin = static_cast<int>(std::floor((x - low) / width));
    ++h.counts[std::clamp(bin, 0, bins - 1)];
  }
  return h;
}

}  // namespace fsc::eval
