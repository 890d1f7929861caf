// What `fsc eval` prints: the summary table people read, and the JSON with every figure (summaries
// and per-face records) that scripts, the demo and bench/quality_bench read.
#ifndef FSC_CORE_EVAL_REPORT_FORMAT_H_
#define FSC_CORE_EVAL_REPORT_FORMAT_H_

#include <string>

#include "core/eval/evaluator.h"

namespace fsc::eval {

// A few dozen lines: inputs, then one line per figure with the source's own value beside it.
std::string FormatSummary(const EvalReport& report);

// Every figure; figures that could not be measured are null. `per_face` adds the "faces" array.
std::string ReportToJson(const EvalReport& report, bool per_face, bool pretty);

}  // namespace fsc::eval

#endif  // FSC_CORE_EVAL_REPORT_FORMAT_H_
