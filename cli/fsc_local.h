// fsc is two programs: `fsc`, the front end (help, the cluster verbs), which links no LibTorch and
// no OpenCV and so starts in milliseconds, and `fsc-local` beside it, which runs the verbs that
// work on media and models here (extract, train, convert...). The front end hands those verbs to
// fsc-local by exec, with the same words, so users type `fsc extract ...` as before.
#ifndef FSC_CLI_FSC_LOCAL_H_
#define FSC_CLI_FSC_LOCAL_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "cli/commands.h"
#include "core/media/frame_count.h"

namespace fsc::cli {

// Replaces this process with `fsc-local VERB ARGS...` (fsc-local beside this binary, else on
// PATH); its exit code and signals are the caller's. Returns (127) only when it cannot start it.
int ExecFscLocal(const std::string& verb, const Args& args);

// media::CountVideoFrames for the video `fsc` uploads: counted in fsc-local (a hidden verb,
// `fsc-local probe-video PATH MAX_FRAMES`) from the front end, in process in fsc-local.
absl::StatusOr<std::optional<media::VideoFrames>> ProbeVideo(const std::string& path,
                                                             int64_t max_frames);

// fsc-local's hidden `probe-video PATH MAX_FRAMES`: prints one line, "video FRAMES WIDTH HEIGHT FPS
// COUNTED" (COUNTED 0 or 1), "none" for a file that is not a video, or "error MESSAGE".
int RunProbeVideoCommand(const Args& args);

}  // namespace fsc::cli

#endif  // FSC_CLI_FSC_LOCAL_H_
