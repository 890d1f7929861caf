// TASK_MERGE_VIDEO with the ffmpeg program.
#include "worker/merge_video_task.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "core/convert/synthetic_label.h"
#include "core/media/video_writer.h"
#include "core/util/artifact_names.h"
#include "core/util/file_io.h"
#include "core/util/status_macros.h"
#include "core/util/subprocess.h"
#include "worker/extract_task.h"

namespace fsc::worker {
namespace fs = std::filesystem;

namespace {

// The segments' container (Matroska) keeps timestamps in milliseconds, so a rate such as
// 2997/125 comes out of the concat demuxer slightly off and the joined video would claim
// 24000/1001. The output track gets a timescale that is a multiple of the rate's numerator, and
// the setts bitstream filter snaps every timestamp to the nearest whole frame in it (the ffmpeg
// program hands the filter packets already in the output track's timescale): exact again, with
// no re-encoding.
absl::Status AppendExactRateArgs(const std::string& frame_rate, std::vector<std::string>* args) {
  std::pair<std::string, std::string> parts = absl::StrSplit(frame_rate, '/');
  int64_t num = 0, den = 0;
  if (!absl::SimpleAtoi(parts.first, &num) || !absl::SimpleAtoi(parts.second, &den) || num <= 0 ||
      den <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("merge video: the source has no usable frame rate (\"", frame_rate, "\")"));
  }
  const int64_t scale = (10000 + num - 1) / num;  // a timescale of at least 10000, as MP4 likes
  const int64_t tick = den * scale;               // one frame in the output timescale
  args->insert(args->end(),
               {"-video_track_timescale", absl::StrCat(num * scale), "-bsf:v",
                absl::StrCat("setts=pts=round(PTS/", tick, ")*", tick, ":dts=round(DTS/", tick,
                             ")*", tick, ":duration=", tick)});
  return absl::OkStatus();
}

}  // namespace

std::string MergedVideoName(const std::string& source) {
  return absl::StrCat(fs::path(source).stem().string(), "_swapped.mp4");
}

absl::Status MergeSegments(const std::vector<std::string>& segments, const std::string& source,
                           const std::string& output, const std::string& scratch_dir) {
  if (segments.empty()) return absl::InvalidArgumentError("merge video: no segments to join");
  // The concat demuxer's list: one "file '<path>'" line per segment, quotes escaped its way.
  std::string list;
  for (const std::string& segment : segments) {
    std::string path = fs::absolute(segment).string();
    absl::StrAppend(&list, "file '", absl::StrReplaceAll(path, {{"'", "'\\''"}}), "'\n");
  }
  std::error_code ec;
  fs::create_directories(scratch_dir, ec);
  const std::string list_path = (fs::path(scratch_dir) / "segments.txt").string();
  FSC_RETURN_IF_ERROR(util::WriteFileAtomically(list_path, list));

  FSC_ASSIGN_OR_RETURN(media::VideoInfo info, media::ProbeVideo(source));
  // ffmpeg picks the container by extension: keep it last in the temporary's name.
  const fs::path out(output);
  const std::string temp =
      (out.parent_path() / absl::StrCat(".fsc-tmp-", getpid(), "-", out.filename().string()))
          .string();
  std::vector<std::string> args = {"ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
                                   "-y",     "-f",           "concat",    "-safe", "0",
                                   "-i",     list_path,      "-i",        source,  "-map",
                                   "0:v:0",  "-c:v",         "copy"};
  FSC_RETURN_IF_ERROR(AppendExactRateArgs(info.frame_rate, &args));
  if (info.has_audio) {
    args.insert(args.end(),
                {"-map", "1:a:0", "-c:a", media::AudioCodecFor(output, info.audio_codec)});
  }
  args.insert(args.end(), {"-map_metadata", "-1"});
  for (const std::string& arg : convert::SyntheticMetadataArgs()) args.push_back(arg);
  args.push_back(temp);
  absl::StatusOr<util::ProcessResult> result = util::RunProcess(args);
  if (!result.ok() || result->exit_code != 0) {
    fs::remove(temp, ec);
    if (!result.ok()) return result.status();
    return absl::InternalError(
        absl::StrCat("merge video: ffmpeg could not join the segments (exit ", result->exit_code,
                     "): ", result->err.substr(0, 2000)));
  }
  fs::rename(temp, output, ec);
  if (ec) {
    fs::remove(temp, ec);
    return absl::PermissionDeniedError(
        absl::StrCat("merge video: cannot rename into ", output, ": ", ec.message()));
  }
  return absl::OkStatus();
}

absl::Status RunMergeVideoTask(const proto::Task& task, const TaskEnv& env) {
  const fs::path in(env.in_dir);
  FSC_ASSIGN_OR_RETURN(std::string source, ResolveSource((in / kTaskSourceFolder).string()));
  // Segments in the order the coordinator listed their tasks (frame order); every one is needed.
  std::vector<std::string> segments;
  std::error_code ec;
  for (const std::string& id : task.depends_on()) {
    fs::path segment = in / kTaskPartsFolder / id / kSegmentName;
    if (!fs::is_regular_file(segment, ec)) {
      return absl::InvalidArgumentError(absl::StrCat("merge video: the inputs lack ",
                                                     kTaskPartsFolder, "/", id, "/", kSegmentName));
    }
    segments.push_back(segment.string());
  }
  if (segments.empty()) {  // no dependencies listed: the part folders in name order
    for (fs::directory_iterator it(in / kTaskPartsFolder, ec), end; !ec && it != end;
         it.increment(ec)) {
      fs::path segment = it->path() / kSegmentName;
      if (fs::is_regular_file(segment, ec)) segments.push_back(segment.string());
    }
    std::sort(segments.begin(), segments.end());
  }
  const std::string name = MergedVideoName(source);
  const std::string scratch = env.scratch_dir.empty() ? env.out_dir + ".scratch" : env.scratch_dir;
  absl::Status status =
      MergeSegments(segments, source, (fs::path(env.out_dir) / name).string(), scratch);
  fs::remove(fs::path(scratch) / "segments.txt", ec);
  FSC_RETURN_IF_ERROR(status);
  TaskProgress done;
  done.fraction = 1;
  done.message = absl::StrCat("joined ", segments.size(), " segments into ", name);
  env.Report(done);
  return absl::OkStatus();
}

}  // namespace fsc::worker
