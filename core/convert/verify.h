// `fsc verify`'s engine: does a video or image carry fsc's synthetic label?
//
// Two independent checks. The watermark (watermark.h) is looked for in the pixels: every frame
// of a short video, else kDefaultMaxFrames evenly spaced ones; it survives re-encoding,
// downscaling and metadata stripping. The metadata tag (synthetic_label.h) is read from the
// container with ffprobe (videos) or from the PNG/JPEG chunks (images); it is easy to strip, so
// it only adds information.
//
// A video counts as watermarked when one sampled frame, or all sampled frames combined, reach
// z >= kFoundZ; by the bound in watermark.h an unmarked video passes with probability at most
// (frames checked + 1) * 1.6e-8.
#ifndef FSC_CORE_CONVERT_VERIFY_H_
#define FSC_CORE_CONVERT_VERIFY_H_

#include <string>

#include "absl/status/statusor.h"

namespace fsc::convert {

constexpr int kDefaultMaxFrames = 60;

struct VerifyOptions {
  // At most this many frames are decoded and scored (evenly spaced over the video).
  int max_frames = kDefaultMaxFrames;
  // Skip the container metadata check (no ffprobe needed).
  bool check_metadata = true;
};

struct VerifyReport {
  bool watermark_found = false;
  double confidence = 0;  // 0..1
  int frames_checked = 0;
  int frames_with_watermark = 0;  // frames with z >= kFoundZ
  double best_z = 0;              // strongest frame statistic
  double combined_z = 0;          // statistic of all checked frames together
  bool metadata_checked = false;  // false when ffprobe is missing or the format has no tags
  bool metadata_found = false;
  std::string metadata;  // what the tag says ("" when none)
  bool is_video = false;
};

// True when the file carries either half of the label.
inline bool IsLabelledSynthetic(const VerifyReport& report) {
  return report.watermark_found || report.metadata_found;
}

// NOT_FOUND for a missing file, INVALID_ARGUMENT for something that is neither a readable
// image nor a video OpenCV can decode.
absl::StatusOr<VerifyReport> VerifyFile(const std::string& path,
                                        const VerifyOptions& options = VerifyOptions());

}  // namespace fsc::convert

#endif  // FSC_CORE_CONVERT_VERIFY_H_
