// Frame counts of videos to upload: the container's, checked, else counted.
#include "core/media/frame_count.h"

#include <opencv2/videoio.hpp>

#include "absl/strings/str_cat.h"

namespace fsc::media {

absl::StatusOr<std::optional<VideoFrames>> CountVideoFrames(const std::string& path,
                                                            int64_t max_frames) {
  try {
    // The backend FrameSource::Open uses, so that a worker decodes the frames counted here.
    cv::VideoCapture capture(path, cv::CAP_FFMPEG);
    if (!capture.isOpened()) return std::optional<VideoFrames>();
    VideoFrames frames;
    frames.width = static_cast<int>(capture.get(cv::CAP_PROP_FRAME_WIDTH));
    frames.height = static_cast<int>(capture.get(cv::CAP_PROP_FRAME_HEIGHT));
    frames.fps = capture.get(cv::CAP_PROP_FPS);
    const double claimed = capture.get(cv::CAP_PROP_FRAME_COUNT);
    if (claimed >= 1 && claimed <= static_cast<double>(max_frames)) {
      frames.frame_count = static_cast<int64_t>(claimed);
      return std::optional<VideoFrames>(frames);
    }
    frames.counted = true;
    // More than the file can hold would be a decoder looping: stop one past the bound.
    while (frames.frame_count <= max_frames && capture.grab()) ++frames.frame_count;
    if (frames.frame_count == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(path,
                       ": FFmpeg opens it as a video but decodes no frame of it (corrupt "
                       "or truncated?)"));
    }
    return std::optional<VideoFrames>(frames);
  } catch (const cv::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": cannot read as a video: ", e.what()));
  }
}

}  // namespace fsc::media
