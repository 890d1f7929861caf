// fsc-local: the verbs that work on media and models on this machine (extract, train, convert...),
// run by the `fsc` front end (cli/fsc_local.h) with the same words; the cluster verbs work here
// too.
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "cli/commands.h"
#include "cli/fsc_local.h"
#include "core/util/malloc_tuning.h"

namespace fsc::cli {

absl::StatusOr<std::optional<media::VideoFrames>> ProbeVideo(const std::string& path,
                                                             int64_t max_frames) {
  return media::CountVideoFrames(path, max_frames);
}

int RunProbeVideoCommand(const Args& args) {
  int64_t max_frames = 0;
  if (args.size() != 2 || !absl::SimpleAtoi(args[1], &max_frames)) {
    std::cerr << "usage: fsc-local probe-video PATH MAX_FRAMES\n";
    return 2;
  }
  absl::StatusOr<std::optional<media::VideoFrames>> video = ProbeVideo(args[0], max_frames);
  if (!video.ok()) {
    std::string message(video.status().message());
    std::replace(message.begin(), message.end(), '\n', ' ');
    std::printf("error %s\n", message.c_str());
  } else if (!video->has_value()) {
    std::printf("none\n");
  } else {
    const media::VideoFrames& v = **video;
    std::printf("video %" PRId64 " %d %d %.17g %d\n", v.frame_count, v.width, v.height, v.fps,
                v.counted ? 1 : 0);
  }
  return 0;
}

}  // namespace fsc::cli

int main(int argc, char** argv) {
  fsc::util::KeepFreedMemoryForReuse();
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "probe-video") {
    return fsc::cli::RunProbeVideoCommand(fsc::cli::Args(args.begin() + 1, args.end()));
  }
  return fsc::cli::Dispatch(args);
}
