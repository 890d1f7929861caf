// Prometheus text exposition format 0.0.4 (what /metrics serves and `promtool check metrics`
// reads):
//
//   # HELP fsc_rpc_duration_seconds Time to answer an RPC.
//   # TYPE fsc_rpc_duration_seconds histogram
//   fsc_rpc_duration_seconds_bucket{method="Submit",le="0.005"} 3
//   ...
//
// HELP text escapes backslash and newline; label values escape backslash, double quote and
// newline. Families come out sorted by name and children by label values (Registry::Collect's
// order), labels in registration order with "le" last, values as FormatValue writes them. No
// timestamps.
#ifndef FSC_CORE_METRICS_TEXT_FORMAT_H_
#define FSC_CORE_METRICS_TEXT_FORMAT_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "core/metrics/registry.h"

namespace fsc::metrics {

// The Content-Type of a /metrics answer in this format.
inline constexpr char kTextContentType[] = "text/plain; version=0.0.4; charset=utf-8";

std::string EscapeHelp(absl::string_view help);
std::string EscapeLabelValue(absl::string_view value);

// The exposition of these families, in the order given.
std::string FormatText(const std::vector<FamilySnapshot>& families);
// The exposition of everything in `registry` (collects it, running its callbacks).
std::string FormatText(const Registry& registry);

}  // namespace fsc::metrics

#endif  // FSC_CORE_METRICS_TEXT_FORMAT_H_
