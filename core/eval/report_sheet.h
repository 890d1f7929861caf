// `fsc eval --report DIR`: a PNG sheet people would rather look at than read (drawn with OpenCV),
// beside the JSON of every figure.
//
// The sheet, top to bottom: the headline figures; a whole frame, source | swapped; close-ups of
// the sampled faces, source | swapped; per-frame plots of the identity distances (to B and to the
// source face, with face-api's same-person line), the pose error and the flicker (swapped and
// source).
#ifndef FSC_CORE_EVAL_REPORT_SHEET_H_
#define FSC_CORE_EVAL_REPORT_SHEET_H_

#include <opencv2/core.hpp>
#include <string>

#include "absl/status/status.h"
#include "core/eval/evaluator.h"

namespace fsc::eval {

inline constexpr char kReportSheetName[] = "report.png";
inline constexpr char kReportJsonName[] = "eval.json";

// The sheet as an 8-bit BGR image.
cv::Mat RenderReportSheet(const EvalReport& report);

// Creates DIR (and its parents) if missing; PERMISSION_DENIED naming DIR when it cannot. `fsc eval`
// calls it before measuring, so that a long evaluation is not lost to an unwritable folder.
absl::Status CreateReportFolder(const std::string& dir);

// Writes DIR/report.png and DIR/eval.json (with per-face records), each atomically; creates DIR.
absl::Status WriteReportFolder(const EvalReport& report, const std::string& dir);

}  // namespace fsc::eval

#endif  // FSC_CORE_EVAL_REPORT_SHEET_H_
