// The steady-faces flags (--smooth, --strength, --max-gap) that `fsc extract`, `fsc submit` and
// `fsc alignments smooth` share, so their names, ranges, defaults and help read the same.
#ifndef FSC_CLI_SMOOTH_FLAGS_H_
#define FSC_CLI_SMOOTH_FLAGS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/face/extractor.h"
#include "core/face/stabilize.h"
#include "core/util/flags.h"

namespace fsc::cli {

struct SmoothFlags {
  std::string smooth = "auto";  // auto | off
  face::StabilizeOptions stabilize;
};

// --strength and --max-gap (all three verbs).
void AddStabilizeFlags(util::FlagSet* flags, face::StabilizeOptions* stabilize);
// --smooth plus AddStabilizeFlags (extract and submit).
void AddSmoothFlags(util::FlagSet* flags, SmoothFlags* smooth);

// The extraction mode `flags` ask for; INVALID_ARGUMENT naming --smooth or the option out of
// range.
absl::StatusOr<face::SmoothMode> ParseSmoothMode(const SmoothFlags& flags);

}  // namespace fsc::cli

#endif  // FSC_CLI_SMOOTH_FLAGS_H_
