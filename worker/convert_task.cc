// TASK_CONVERT over a frame range with core/convert's RunConversion.
#include "worker/convert_task.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/convert/color_transfer.h"
#include "core/convert/convert_spec.h"
#include "core/convert/converter.h"
#include "core/convert/swap_model.h"
#include "core/convert/synthetic_label.h"
#include "core/face/alignments_file.h"
#include "core/media/frame_source.h"
#include "core/media/video_writer.h"
#include "core/rpc/option_schema.h"
#include "core/util/artifact_names.h"
#include "core/util/status_macros.h"
#include "worker/extract_task.h"
#include "worker/stage_metrics.h"

namespace fsc::worker {
namespace fs = std::filesystem;
namespace {

// One frame of the range: its index in the source and its file name in the range folder.
struct RangeFrame {
  int64_t index;
  std::string name;
};

// Writes the range [begin, end) of `source` (end < 0: to the end) as a folder source at `dir`:
// video frames as frame_NNNNNNNN.png (lossless), images as links under their own names.
absl::StatusOr<std::vector<RangeFrame>> LayOutRange(media::FrameSource& source, int64_t begin,
                                                    int64_t end, const fs::path& dir,
                                                    const std::string& source_path,
                                                    const TaskEnv& env) {
  std::vector<RangeFrame> frames;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot create ", dir.string(), ": ", ec.message()));
  }
  const bool video = source.description().kind == media::SourceKind::kVideo;
  source.SkipTo(begin);
  while (auto frame = source.Next()) {
    if (end >= 0 && frame->index >= end) break;
    if (env.Cancelled()) return absl::CancelledError("conversion cancelled");
    if (video) {
      std::string name = absl::StrFormat("frame_%08d.png", frame->index);
      // Fast PNG: these files live only for this task.
      if (!cv::imwrite((dir / name).string(), frame->image, {cv::IMWRITE_PNG_COMPRESSION, 1})) {
        return absl::ResourceExhaustedError(absl::StrCat("cannot write ", (dir / name).string()));
      }
      frames.push_back({frame->index, name});
    } else {
      fs::path from = fs::is_directory(source_path, ec) ? fs::path(source_path) / frame->name
                                                        : fs::path(source_path);
      const std::string name = from.filename().string();
      fs::create_hard_link(from, dir / name, ec);
      if (ec) {
        ec.clear();
        fs::copy_file(from, dir / name, ec);
      }
      if (ec) {
        return absl::ResourceExhaustedError(
            absl::StrCat("cannot place ", from.string(), " in ", dir.string(), ": ", ec.message()));
      }
      frames.push_back({frame->index, name});
    }
  }
  return frames;
}

// The alignments of the range's frames, re-indexed to the range folder (index = position).
absl::StatusOr<proto::Alignments> RangeAlignments(const proto::Alignments& alignments,
                                                  const std::vector<RangeFrame>& frames,
                                                  const std::string& range_dir) {
  proto::Alignments range = alignments;
  range.clear_frames();
  FSC_ASSIGN_OR_RETURN(std::string fingerprint, face::SourceFingerprint(range_dir));
  range.mutable_source()->set_path(range_dir);
  range.mutable_source()->set_sha256(fingerprint);
  range.mutable_source()->set_frame_count(static_cast<int64_t>(frames.size()));
  std::map<int64_t, int64_t> position;  // source index -> position in the folder
  for (size_t i = 0; i < frames.size(); ++i) position[frames[i].index] = static_cast<int64_t>(i);
  for (const proto::Frame& frame : alignments.frames()) {
    auto it = position.find(frame.index());
    if (it == position.end()) continue;
    proto::Frame* copy = range.add_frames();
    *copy = frame;
    copy->set_index(it->second);
    copy->set_name(frames[it->second].name);
  }
  return range;
}

// Encodes the converted frames (already watermarked and in order) at the source's exact rate.
absl::Status EncodeSegment(const std::vector<RangeFrame>& frames, const fs::path& converted,
                           const std::string& source_path, const convert::ConvertOptions& options,
                           const std::string& output) {
  FSC_ASSIGN_OR_RETURN(media::VideoInfo info, media::ProbeVideo(source_path, options.ffprobe));
  media::VideoWriterOptions writer_options = options.video;
  writer_options.audio_source.clear();  // the merge muxes the audio of the whole source
  writer_options.extra_output_args = convert::SyntheticMetadataArgs();
  FSC_ASSIGN_OR_RETURN(
      std::unique_ptr<media::VideoWriter> writer,
      media::VideoWriter::Open(output, info.width, info.height, info.frame_rate, writer_options));
  for (const RangeFrame& frame : frames) {
    cv::Mat image = cv::imread((converted / frame.name).string(), cv::IMREAD_COLOR);
    if (image.empty()) {
      writer->Abort();
      return absl::InternalError(absl::StrCat("the converted frame ", frame.name, " is missing"));
    }
    if (image.cols != info.width || image.rows != info.height) {
      writer->Abort();
      return absl::InternalError(absl::StrCat("the converted frame ", frame.name, " is ",
                                              image.cols, "x", image.rows, ", not ", info.width,
                                              "x", info.height));
    }
    FSC_RETURN_IF_ERROR(writer->Write(image));
  }
  return writer->Finish();
}

absl::Status Convert(const proto::Task& task, const TaskEnv& env, const fs::path& scratch) {
  const fs::path in(env.in_dir);
  FSC_ASSIGN_OR_RETURN(std::string source_path, ResolveSource((in / kTaskSourceFolder).string()));
  const std::string model_dir = (in / kTaskModelFolder).string();
  // A task planned before the cluster named the file alignments.fsa holds alignments.fsca.
  const std::string source_alignments =
      face::ResolveAlignmentsPath((in / kConvertAlignmentsFolderName).string());
  FSC_ASSIGN_OR_RETURN(proto::Alignments alignments, face::ReadAlignments(source_alignments));
  // The coordinator checked the spec on submit; a spec that reaches a worker otherwise (an older
  // coordinator) is checked here rather than applied in part.
  FSC_RETURN_IF_ERROR(rpc::ValidateOptions(task.spec().convert(), "spec.convert"));
  convert::ConvertOptions options;
  convert::ApplyConvertSpec(task.spec().convert(), &options);
  options.threads = std::max(1, env.threads);
  FSC_RETURN_IF_ERROR(convert::ValidateConvertOptions(options));

  // The alignments must be of this source, as fsc convert demands (the range folder made below
  // gets a fingerprint of its own, so the check has to happen here).
  FSC_ASSIGN_OR_RETURN(std::string fingerprint, face::SourceFingerprint(source_path));
  if (alignments.source().sha256() != fingerprint) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the alignments file was extracted from another source (", alignments.source().path(),
        ") than the input ", fs::path(source_path).filename().string(), "; extract it again"));
  }
  FSC_ASSIGN_OR_RETURN(std::unique_ptr<media::FrameSource> source,
                       media::FrameSource::Open(source_path));
  const media::SourceDescription description = source->description();
  const bool video = description.kind == media::SourceKind::kVideo;
  const int64_t begin = task.frame_begin();
  const int64_t end = (task.frame_begin() == 0 && task.frame_end() == 0) ? -1 : task.frame_end();
  if (begin < 0 || (end >= 0 && end <= begin)) {
    return absl::InvalidArgumentError(
        absl::StrCat("convert: bad frame range [", begin, ", ", task.frame_end(), ")"));
  }

  const fs::path range_dir = scratch / "frames";
  env.Report({0, 0, "frames", ""});
  FSC_ASSIGN_OR_RETURN(std::vector<RangeFrame> frames,
                       LayOutRange(*source, begin, end, range_dir, source_path, env));
  if (video) {
    FSC_RETURN_IF_ERROR(
        CheckVideoRange(source_path, begin, end, static_cast<int64_t>(frames.size())));
  }
  if (frames.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("convert: frames [", begin, ", ",
                                                   task.frame_end(), ") are not in the input (",
                                                   description.frame_count, " frames)"));
  }
  FSC_ASSIGN_OR_RETURN(proto::Alignments range,
                       RangeAlignments(alignments, frames, range_dir.string()));
  options.alignments_path = (scratch / kAlignmentsFileName).string();
  FSC_RETURN_IF_ERROR(face::WriteAlignments(options.alignments_path, range));
  // int8 ranges all calibrate on the whole source's first faces, so they are quantised alike.
  options.calibration_input = source_path;
  options.calibration_alignments_path = source_alignments;

  const fs::path converted =
      video ? scratch / "converted" : fs::path(env.out_dir) / kTaskImagesFolder;
  StageMeter meter("convert");
  // Conversion is most of the work; encoding the segment the rest.
  const auto progress = meter.Reporter(env, video ? 0.9 : 1.0);
  FSC_ASSIGN_OR_RETURN(
      convert::ConvertReport report,
      convert::RunConversion(range_dir.string(), model_dir, converted.string(), options, progress));
  meter.Progress(report.frames);
  meter.AddFaces(report.faces_swapped);
  if (env.Cancelled()) return absl::CancelledError("conversion cancelled");
  if (video) {
    FSC_RETURN_IF_ERROR(EncodeSegment(frames, converted, source_path, options,
                                      (fs::path(env.out_dir) / kSegmentName).string()));
  }
  TaskProgress done;
  done.fraction = 1;
  done.rate = report.frames_per_second;
  done.unit = "frames";
  done.message = absl::StrFormat("converted frames [%d, %d): %d frames, %d faces swapped", begin,
                                 frames.back().index + 1, report.frames, report.faces_swapped);
  env.Report(done);
  return absl::OkStatus();
}

}  // namespace

absl::Status RunConvertTask(const proto::Task& task, const TaskEnv& env) {
  const fs::path scratch =
      fs::path(env.scratch_dir.empty() ? env.out_dir + ".scratch" : env.scratch_dir) / "convert";
  std::error_code ec;
  fs::remove_all(scratch, ec);
  absl::Status status = Convert(task, env, scratch);
  fs::remove_all(scratch, ec);  // the frames are large; nothing there is uploaded
  return status;
}

}  // namespace fsc::worker
