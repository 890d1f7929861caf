// The frame count `fsc` declares for a video it uploads (proto MediaInfo): the container's own
// count when the file could hold it, else the frames FFmpeg decodes, counted (a damaged or forged
// header cannot make a short clip look like billions of frames). Counting reads frames exactly
// as a worker's frame source does, so both sides agree on what a frame is.
#ifndef FSC_CORE_MEDIA_FRAME_COUNT_H_
#define FSC_CORE_MEDIA_FRAME_COUNT_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace fsc::media {

struct VideoFrames {
  int64_t frame_count = 0;
  int width = 0;
  int height = 0;
  double fps = 0;
  bool counted = false;  // the container's count was missing or impossible: frames were counted
};

// nullopt when `path` is not a video FFmpeg opens (an alignments file, a model file...).
// `max_frames`: the most frames the file can hold (its size over the smallest coded frame); a
// container that claims more is not believed. INVALID_ARGUMENT for a video without a decodable
// frame.
absl::StatusOr<std::optional<VideoFrames>> CountVideoFrames(const std::string& path,
                                                            int64_t max_frames);

}  // namespace fsc::media

#endif  // FSC_CORE_MEDIA_FRAME_COUNT_H_
