// Video output through the `ffmpeg` program: raw BGR frames go down a pipe into an ffmpeg child
// that encodes them (libx264 by default) and muxes the source's audio back in, plus ffprobe
// helpers to learn a source's exact frame rate, size and audio.
//
// The output is atomic: ffmpeg writes a temporary file beside the output (".fsc-tmp-PID-NAME",
// the extension kept last so ffmpeg picks the same container), and Finish() renames it over the
// output once ffmpeg has exited cleanly. Abort(), a failed Finish() and the destructor remove
// the temporary; a crash leaves only that temporary name, never a half-written output.
#ifndef FSC_CORE_MEDIA_VIDEO_WRITER_H_
#define FSC_CORE_MEDIA_VIDEO_WRITER_H_

#include <cstdint>
#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fsc::util {
class ChildProcess;
}

namespace fsc::media {

struct VideoInfo {
  int width = 0;
  int height = 0;
  std::string frame_rate;  // exact rational "num/den" (e.g. "2997/125")
  double fps = 0;
  int64_t frame_count = 0;  // as the container says (0: unknown)
  double duration = 0;      // seconds of the video stream (0: unknown)
  bool has_audio = false;
  std::string audio_codec;  // of the first audio stream
};

// Runs ffprobe on `path`. NOT_FOUND when ffprobe is not installed, INVALID_ARGUMENT when the file
// has no video stream or ffprobe cannot read it (its message included).
absl::StatusOr<VideoInfo> ProbeVideo(const std::string& path,
                                     const std::string& ffprobe = "ffprobe");

// OK when `ffmpeg` runs and has the encoder `codec` (as `ffmpeg -encoders` lists it);
// NOT_FOUND / INVALID_ARGUMENT with what to do otherwise.
absl::Status CheckEncoder(const std::string& codec, const std::string& ffmpeg = "ffmpeg");

// The audio codec to use when putting `source_codec` into a container with this output
// extension: "copy" where the container takes it as it is, else a codec it does take.
std::string AudioCodecFor(const std::string& output_path, const std::string& source_codec);

struct VideoWriterOptions {
  std::string ffmpeg = "ffmpeg";
  std::string codec = "libx264";
  int crf = 23;  // quality for x264/x265/vp9 (lower is better; 23 is x264's default)
  std::string preset = "medium";  // x264/x265 speed preset
  // Take the audio of this file (its first audio stream, if any) into the output.
  std::string audio_source;
  std::string audio_codec;  // source audio codec name (AudioCodecFor decides copy or re-encode)
  std::vector<std::string> extra_output_args;  // e.g. metadata, before the output name
};

// The ffmpeg command line VideoWriter runs (exposed for tests and the benchmark's floor).
std::vector<std::string> FfmpegEncodeArgs(const std::string& output, int width, int height,
                                          const std::string& frame_rate,
                                          const VideoWriterOptions& options);

class VideoWriter {
 public:
  // Starts ffmpeg writing `path`'s temporary. FAILED_PRECONDITION when the output folder does not
  // exist or is not writable; NOT_FOUND when ffmpeg is missing.
  static absl::StatusOr<std::unique_ptr<VideoWriter>> Open(const std::string& path, int width,
                                                           int height,
                                                           const std::string& frame_rate,
                                                           const VideoWriterOptions& options);
  ~VideoWriter();

  // One width x height 8-bit BGR frame. An error (with ffmpeg's message) when ffmpeg has died.
  absl::Status Write(const cv::Mat& bgr);
  // Ends the stream, waits for ffmpeg and renames the temporary to the output. On an error the
  // temporary is removed and the output is untouched.
  absl::Status Finish();
  // Kills ffmpeg and removes the temporary.
  void Abort();

  const std::string& temp_path() const { return temp_path_; }
  int64_t frames_written() const { return frames_; }

 private:
  VideoWriter() = default;
  std::string path_, temp_path_;
  int width_ = 0, height_ = 0;
  int64_t frames_ = 0;
  bool done_ = false;
  std::unique_ptr<util::ChildProcess> child_;
};

}  // namespace fsc::media

#endif  // FSC_CORE_MEDIA_VIDEO_WRITER_H_
