// TASK_EXTRACT over a frame range with core/face's RunExtraction.
#include "worker/extract_task.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "core/face/extract_spec.h"
#include "core/rpc/option_schema.h"
#include "core/util/artifact_names.h"
#include "core/util/image_names.h"
#include "core/util/status_macros.h"
#include "worker/stage_metrics.h"

namespace fsc::worker {
namespace fs = std::filesystem;

absl::StatusOr<face::ExtractOptions> ExtractOptionsFromSpec(const proto::ExtractOptions& spec) {
  FSC_RETURN_IF_ERROR(rpc::ValidateOptions(spec, "spec.extract"));
  face::ExtractOptions options;
  face::ApplyExtractSpec(spec, &options);
  return options;
}

absl::StatusOr<std::string> ResolveSource(const std::string& dir) {
  std::error_code ec;
  std::vector<fs::path> entries;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    entries.push_back(it->path());
  }
  if (ec || entries.empty()) {
    return absl::NotFoundError(absl::StrCat("the task's input folder ", dir,
                                            " is empty or missing: the coordinator ",
                                            "sent no input/ files"));
  }
  if (entries.size() == 1 && fs::is_regular_file(entries[0], ec)) return entries[0].string();
  return dir;
}

absl::Status CheckVideoRange(const std::string& source, int64_t begin, int64_t end,
                             int64_t frames_read) {
  if (end <= 0 || frames_read >= end - begin) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      kTaskSourceFolder, "/", fs::path(source).filename().string(), ": the video ends at frame ",
      begin + frames_read, ", inside this task's frames [", begin, ", ", end,
      "): it holds fewer frames than were declared when it was uploaded (a wrong count in its ",
      "header, or a damaged file); upload it again: fsc counts the frames of a video whose ",
      "header it cannot trust"));
}

absl::Status RunExtractTask(const proto::Task& task, const TaskEnv& env) {
  FSC_ASSIGN_OR_RETURN(std::string source,
                       ResolveSource((fs::path(env.in_dir) / kTaskSourceFolder).string()));
  FSC_ASSIGN_OR_RETURN(face::ExtractOptions options, ExtractOptionsFromSpec(task.spec().extract()));
  options.models_dir = env.models_dir;
  options.threads = std::max(1, env.threads);
  options.frame_begin = task.frame_begin();
  // [0, 0) is "the whole source" (a task over a single image or an unsplit input).
  options.frame_end = (task.frame_begin() == 0 && task.frame_end() == 0) ? -1 : task.frame_end();
  options.cancelled = env.cancelled;
  // Even a task over the whole source stays raw: its job's merge task stabilises, once; the faces
  // still get what tracking needs, as in a local extraction.
  if (options.smooth == face::SmoothMode::kAuto) options.smooth = face::SmoothMode::kDeferred;

  StageMeter meter("extract");
  const auto progress = meter.Reporter(env);
  FSC_ASSIGN_OR_RETURN(
      face::ExtractReport report,
      face::RunExtraction(source, (fs::path(env.out_dir) / kFacesFolderName).string(),
                          (fs::path(env.out_dir) / kAlignmentsFileName).string(), options,
                          progress));
  // The coordinator planned the ranges from the uploader's declaration; the decoder has the last
  // word.
  std::error_code ec;
  if (fs::is_regular_file(source, ec) && !util::HasImageExtension(source)) {
    FSC_RETURN_IF_ERROR(
        CheckVideoRange(source, task.frame_begin(), task.frame_end(), report.frames_read));
  }
  meter.Progress(report.frames_processed);
  meter.AddFaces(report.faces_found);
  TaskProgress done;
  done.fraction = 1;
  done.rate = report.seconds > 0 ? report.frames_processed / report.seconds : 0;
  done.unit = "frames";
  done.message =
      absl::StrCat("extracted frames [", task.frame_begin(), ", ", task.frame_end(),
                   "): ", report.frames_processed, " frames, ", report.faces_found, " faces");
  for (const std::string& warning : report.warnings) absl::StrAppend(&done.message, "; ", warning);
  env.Report(done);
  return absl::OkStatus();
}

}  // namespace fsc::worker
