// The steady-faces flags shared by extract, submit and alignments smooth.
#include "cli/smooth_flags.h"

#include "absl/strings/str_cat.h"
#include "core/util/status_macros.h"

namespace fsc::cli {

void AddStabilizeFlags(util::FlagSet* flags, face::StabilizeOptions* stabilize) {
  flags->Double("strength", 0, &stabilize->strength,
                "smoothing of each face track's landmarks over time: 0 tracks and fills gaps "
                "only (landmarks raw), 1 the default, up to 8 steadier still (less detail of "
                "fast motion)",
                {0, 8});
  flags->Int("max-gap", 0, &stabilize->max_gap,
             "longest run of frames (processed frames) without a detection that is filled "
             "inside a face track; a longer gap ends the track",
             {0, 60});
}

void AddSmoothFlags(util::FlagSet* flags, SmoothFlags* smooth) {
  flags->String("smooth", 0, &smooth->smooth,
                "auto (on for videos, off for images) or off: link a video's faces into tracks, "
                "fill short dropouts and smooth the landmarks over time (never across a shot "
                "cut); raw landmarks stay in the alignments file");
  AddStabilizeFlags(flags, &smooth->stabilize);
}

absl::StatusOr<face::SmoothMode> ParseSmoothMode(const SmoothFlags& flags) {
  FSC_RETURN_IF_ERROR(face::ValidateStabilizeOptions(flags.stabilize));
  if (flags.smooth == "auto") return face::SmoothMode::kAuto;
  if (flags.smooth == "off") return face::SmoothMode::kOff;
  return absl::InvalidArgumentError(
      absl::StrCat("--smooth '", flags.smooth, "' is not one of: auto, off"));
}

}  // namespace fsc::cli
