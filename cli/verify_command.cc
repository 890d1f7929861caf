// fsc verify: does a video or image carry fsc's synthetic label (watermark, metadata)?
#include <iostream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_format.h"
#include "cli/commands.h"
#include "core/convert/verify.h"
#include "core/media/image_header.h"
#include "core/util/flags.h"

namespace fsc::cli {

int RunVerifyCommand(const Args& args) {
  bool json = false;
  int max_frames = convert::kDefaultMaxFrames;
  util::FlagSet flags(
      "fsc verify", "FILE [--json] [--max-frames N]",
      "Checks whether a video or image carries the synthetic-content label that 'fsc convert'\n"
      "puts on everything it writes: the invisible watermark in the pixels (it survives\n"
      "re-encoding, downscaling and metadata stripping) and the metadata tag in the container\n"
      "or image file. Exit code: 0 labelled synthetic (watermark or tag found), 1 not found\n"
      "(or the file cannot be read: the message says which), 2 usage error.\n" +
          media::ImageLimitsText());
  flags.Bool("json", 0, &json, "print the report as JSON");
  flags.Int("max-frames", 0, &max_frames, "video frames to check, evenly spaced over the video",
            {1, 1000000});
  std::vector<std::string> positional;
  if (auto exit_code = flags.ParseOrExit(args, &positional)) return *exit_code;
  if (positional.size() != 1) {
    std::cerr << "fsc verify: expected exactly one FILE (see 'fsc verify --help')\n";
    return 2;
  }
  if (max_frames < 1) {
    std::cerr << "fsc verify: --max-frames must be at least 1\n";
    return 2;
  }
  const std::string& path = positional[0];
  convert::VerifyOptions options;
  options.max_frames = max_frames;
  auto report = convert::VerifyFile(path, options);
  if (!report.ok()) {
    std::cerr << "fsc verify: error: " << report.status().message()
              << "\n(the file could not be checked; this is not a 'not found' result)\n";
    return 1;
  }
  const bool synthetic = convert::IsLabelledSynthetic(*report);
  if (json) {
    nlohmann::json out = {
        {"file", path},
        {"synthetic", synthetic},
        {"watermark_found", report->watermark_found},
        {"confidence", report->confidence},
        {"z", report->best_z},
        {"combined_z", report->combined_z},
        {"frames_checked", report->frames_checked},
        {"frames_with_watermark", report->frames_with_watermark},
        {"metadata_checked", report->metadata_checked},
        {"metadata_found", report->metadata_found},
        {"metadata", report->metadata},
        {"is_video", report->is_video},
    };
    std::cout << out.dump(2) << "\n";
    return synthetic ? 0 : 1;
  }
  std::cout << "file:      " << path << "\n";
  std::cout << absl::StrFormat("watermark: %s (confidence %.2f, z %.1f, %d/%d %s)\n",
                               report->watermark_found ? "found" : "not found", report->confidence,
                               report->best_z, report->frames_with_watermark,
                               report->frames_checked, report->is_video ? "frames" : "image");
  if (!report->metadata_checked) {
    std::cout << "metadata:  not checked (ffprobe not available)\n";
  } else if (report->metadata_found) {
    std::cout << "metadata:  synthetic (" << report->metadata << ")\n";
  } else {
    std::cout << "metadata:  not found\n";
  }
  std::cout << "verdict:   "
            << (synthetic ? "labelled synthetic by fsc" : "no fsc synthetic label found") << "\n";
  return synthetic ? 0 : 1;
}

}  // namespace fsc::cli
