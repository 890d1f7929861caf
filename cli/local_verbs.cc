// The front end's local verbs: each hands its words to fsc-local (cli/fsc_local.h), which links
// LibTorch and OpenCV, and a video's frame count is asked of fsc-local the same way.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cli/fsc_local.h"
#include "cli/local_processes.h"
#include "core/util/status_macros.h"
#include "core/util/subprocess.h"

namespace fsc::cli {

int ExecFscLocal(const std::string& verb, const Args& args) {
  absl::StatusOr<std::string> local = FindSiblingBinary("fsc-local");
  if (!local.ok()) {
    std::cerr << "fsc " << verb << ": " << local.status().message() << "\n";
    return 127;
  }
  std::vector<std::string> words = {*local, verb};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& word : words) argv.push_back(word.data());
  argv.push_back(nullptr);
  execv(argv[0], argv.data());
  std::cerr << "fsc " << verb << ": cannot run " << *local << ": " << std::strerror(errno) << "\n";
  return 127;
}

absl::StatusOr<std::optional<media::VideoFrames>> ProbeVideo(const std::string& path,
                                                             int64_t max_frames) {
  FSC_ASSIGN_OR_RETURN(std::string local, FindSiblingBinary("fsc-local"));
  FSC_ASSIGN_OR_RETURN(util::ProcessResult run,
                       util::RunProcess({local, "probe-video", path, std::to_string(max_frames)}));
  if (run.exit_code != 0) {
    return absl::InternalError(
        absl::StrCat(local, " probe-video ", path, " exited ", run.exit_code, ": ", run.err));
  }
  // One line on stdout (RunProbeVideoCommand); stderr holds FFmpeg's chatter, if any.
  if (absl::StartsWith(run.out, "error ")) {
    return absl::InvalidArgumentError(
        absl::StripTrailingAsciiWhitespace(absl::string_view(run.out).substr(6)));
  }
  if (absl::StartsWith(run.out, "none")) return std::optional<media::VideoFrames>();
  media::VideoFrames video;
  int counted = 0;
  std::istringstream in(run.out);
  std::string word;
  if (!(in >> word >> video.frame_count >> video.width >> video.height >> video.fps >> counted) ||
      word != "video") {
    return absl::InternalError(
        absl::StrCat(local, " probe-video ", path, ": unreadable '", run.out, "'"));
  }
  video.counted = counted != 0;
  return std::optional<media::VideoFrames>(video);
}

int RunExtractCommand(const Args& args) { return ExecFscLocal("extract", args); }
int RunAlignmentsCommand(const Args& args) { return ExecFscLocal("alignments", args); }
int RunTrainCommand(const Args& args) { return ExecFscLocal("train", args); }
int RunConvertCommand(const Args& args) { return ExecFscLocal("convert", args); }
int RunBenchCommand(const Args& args) { return ExecFscLocal("bench", args); }
int RunVerifyCommand(const Args& args) { return ExecFscLocal("verify", args); }
int RunEvalCommand(const Args& args) { return ExecFscLocal("eval", args); }
int RunModelCommand(const Args& args) { return ExecFscLocal("model", args); }

}  // namespace fsc::cli
