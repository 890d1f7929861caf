// Summaries of per-face and per-frame figures for `fsc eval`: mean, median, 90th percentile,
// extremes, and fixed-bin histograms, so that reports of different runs line up bin by bin.
#ifndef FSC_CORE_EVAL_STATS_H_
#define FSC_CORE_EVAL_STATS_H_

#include <cstdint>
#include <vector>

namespace fsc::eval {

struct Summary {
  int64_t count = 0;  // values summarised (non-finite values are left out)
  double mean = 0, median = 0, p90 = 0, min = 0, max = 0;  // all 0 when count is 0
};

// Percentiles interpolate linearly between the sorted values.
Summary Summarize(const std::vector<double>& values);

struct Histogram {
  double low = 0, high = 0;     // the bins split [low, high) evenly
  std::vector<int64_t> counts;  // values below low land in the first bin, above high in the last
};

// `bins` >= 1 and low < high, else an empty histogram.
Histogram MakeHistogram(const std::vector<double>& values, double low, double high, int bins);

}  // namespace fsc::eval

#endif  // FSC_CORE_EVAL_STATS_H_
