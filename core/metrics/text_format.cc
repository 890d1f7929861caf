// Writes collected metric families in the Prometheus text format 0.0.4 (see text_format.h).
#include "core/metrics/text_format.h"

#include "absl/strings/str_cat.h"
#include "core/metrics/value_format.h"

namespace fsc::metrics {
namespace {

std::string Escape(absl::string_view text, bool quote) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string EscapeHelp(absl::string_view help) { return Escape(help, /*quote=*/false); }

std::string EscapeLabelValue(absl::string_view value) { return Escape(value, /*quote=*/true); }

std::string FormatText(const std::vector<FamilySnapshot>& families) {
  std::string out;
  for (const FamilySnapshot& family : families) {
    absl::StrAppend(&out, "# HELP ", family.name, " ", EscapeHelp(family.help), "\n");
    absl::StrAppend(&out, "# TYPE ", family.name, " ", MetricTypeName(family.type), "\n");
    for (const Sample& sample : family.samples) {
      out += sample.name;
      if (!sample.labels.empty()) {
        out += '{';
        for (size_t i = 0; i < sample.labels.size(); ++i) {
          absl::StrAppend(&out, i > 0 ? "," : "", sample.labels[i].first, "=\"",
                          EscapeLabelValue(sample.labels[i].second), "\"");
        }
        out += '}';
      }
      absl::StrAppend(&out, " ", FormatValue(sample.value), "\n");
    }
  }
  return out;
}

std::string FormatText(const Registry& registry) { return FormatText(registry.Collect()); }

}  // namespace fsc::metrics
