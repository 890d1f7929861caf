// Sample values and bucket bounds as the Prometheus text format writes them.
#ifndef FSC_CORE_METRICS_VALUE_FORMAT_H_
#define FSC_CORE_METRICS_VALUE_FORMAT_H_

#include <string>

namespace fsc::metrics {

// "+Inf", "-Inf", "NaN"; integral values below 1e15 in magnitude as plain integers ("3",
// "1000000", "0" also for -0); anything else in the shortest form that reads back to the same
// double ("0.005", "2.5", "1e-07", "1.5e+20"), which Prometheus' parser accepts.
std::string FormatValue(double value);

}  // namespace fsc::metrics

#endif  // FSC_CORE_METRICS_VALUE_FORMAT_H_
