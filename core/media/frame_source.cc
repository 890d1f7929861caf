// Video (OpenCV/FFmpeg), single-image and image-folder frame sources.
#include "core/media/frame_source.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <opencv2/videoio.hpp>

#include "absl/strings/str_cat.h"
#include "core/media/image_reader.h"

namespace fsc::media {
namespace {

namespace fs = std::filesystem;

// Time slots at the end of a video's stated length that may hold no frame (see EndOfFrames).
constexpr int64_t kEndSlack = 1;

class VideoSource : public FrameSource {
 public:
  VideoSource(SourceDescription description, cv::VideoCapture capture)
      : description_(std::move(description)), capture_(std::move(capture)) {}

  const SourceDescription& description() const override { return description_; }
  const std::vector<std::string>& warnings() const override { return warnings_; }

  std::optional<SourceFrame> Next() override {
    if (done_) return std::nullopt;
    SourceFrame frame;
    if (!capture_.read(frame.image) || frame.image.empty()) {
      EndOfFrames();
      return std::nullopt;
    }
    frame.index = next_index_;
    Decoded();
    return frame;
  }

  void SkipTo(int64_t index) override {
    while (!done_ && next_index_ < index) {
      // grab() demuxes and decodes but skips the colour conversion of read().
      if (!capture_.grab()) {
        EndOfFrames();
        return;
      }
      Decoded();
    }
  }

 private:
  // Notes the time slot (timestamp x fps) of the frame just decoded. Frames a decoder flushes at
  // the end may carry no timestamp (OpenCV then says 0 ms): those take the slot after the last.
  void Decoded() {
    const double ms = capture_.get(cv::CAP_PROP_POS_MSEC);
    const int64_t slot = ms > 0 ? std::llround(ms / 1000.0 * description_.fps) : 0;
    last_slot_ = next_index_ == 0 ? slot : std::max(slot, last_slot_ + 1);
    ++next_index_;
  }

  // The decoder has no more frames. The container's count is of time slots, not always of
  // decodable frames: AVI muxers (ffmpeg's too) index a zero-size placeholder for each frame the
  // source dropped, and a container without a count (Matroska) gets its duration x fps, rounded,
  // where the duration may start up to a frame before the video does. So fewer frames than the
  // count is damage only when the last frame decoded lies before the last slot but one, as in a
  // truncated or corrupt file. (Frames a decoder drops inside the stream look, through OpenCV,
  // like those placeholders.)
  void EndOfFrames() {
    done_ = true;
    if (description_.frame_count <= 0 || next_index_ >= description_.frame_count) return;
    if (next_index_ > 0 && description_.fps > 0 &&
        last_slot_ + kEndSlack >= description_.frame_count - 1) {
      return;
    }
    warnings_.push_back(absl::StrCat(description_.path, ": decoded ", next_index_, " of ",
                                     description_.frame_count,
                                     " frames; the rest could not be read (truncated or "
                                     "corrupt video?)"));
  }

  SourceDescription description_;
  cv::VideoCapture capture_;
  std::vector<std::string> warnings_;
  int64_t next_index_ = 0;
  int64_t last_slot_ = 0;  // of the last frame decoded (see Decoded)
  bool done_ = false;
};

class ImageListSource : public FrameSource {
 public:
  // `first` is files[0] already decoded (a single image is decoded once, by Open), or empty.
  ImageListSource(SourceDescription description, std::vector<std::string> files,
                  cv::Mat first = cv::Mat())
      : description_(std::move(description)), files_(std::move(files)), first_(std::move(first)) {}

  const SourceDescription& description() const override { return description_; }
  const std::vector<std::string>& warnings() const override { return warnings_; }

  std::optional<SourceFrame> Next() override {
    while (next_ < files_.size()) {
      size_t index = next_++;
      SourceFrame frame;
      frame.index = static_cast<int64_t>(index);
      frame.name = fs::path(files_[index]).filename().string();
      if (index == 0 && !first_.empty()) {
        frame.image = std::move(first_);
        return frame;
      }
      // A bad image (corrupt, another format, over the size limit) is skipped and named.
      absl::StatusOr<cv::Mat> image = ReadImage(files_[index], cv::IMREAD_COLOR);
      if (!image.ok()) {
        warnings_.push_back(std::string(image.status().message()));
        continue;
      }
      frame.image = *std::move(image);
      return frame;
    }
    return std::nullopt;
  }

  void SkipTo(int64_t index) override {
    if (index > 0) next_ = std::max(next_, std::min(files_.size(), static_cast<size_t>(index)));
  }

 private:
  SourceDescription description_;
  std::vector<std::string> files_;
  cv::Mat first_;
  std::vector<std::string> warnings_;
  size_t next_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<FrameSource>> FrameSource::Open(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    return absl::NotFoundError(absl::StrCat(path, ": no such file or folder"));
  }
  SourceDescription description;
  description.path = path;
  if (fs::is_directory(path, ec)) {
    std::vector<std::string> files;
    for (const auto& entry : fs::directory_iterator(path, ec)) {
      if (entry.is_regular_file() && HasImageExtension(entry.path().string())) {
        files.push_back(entry.path().string());
      }
    }
    std::sort(files.begin(), files.end());
    if (files.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          path,
          ": folder holds no images (.jpg .jpeg .png .bmp .webp .tif); give a folder of "
          "images, an image or a video"));
    }
    description.kind = SourceKind::kImageFolder;
    description.frame_count = static_cast<int64_t>(files.size());
    auto source = std::make_unique<ImageListSource>(description, std::move(files));
    return source;
  }
  if (HasImageExtension(path)) {
    absl::StatusOr<cv::Mat> image = ReadImage(path, cv::IMREAD_COLOR);
    // Damaged or oversized input is the caller's argument, whatever the reader calls it: the
    // same bytes fail the same way every time (a cluster worker does not retry it).
    if (absl::IsDataLoss(image.status()))
      return absl::InvalidArgumentError(image.status().message());
    if (!image.ok()) return image.status();
    description.kind = SourceKind::kImage;
    description.width = image->cols;
    description.height = image->rows;
    description.frame_count = 1;
    return std::make_unique<ImageListSource>(description, std::vector<std::string>{path},
                                             *std::move(image));
  }
  cv::VideoCapture capture(path, cv::CAP_FFMPEG);
  if (!capture.isOpened()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path,
                     ": cannot open as a video (corrupt, truncated or unsupported container); fsc "
                     "reads videos FFmpeg can decode and images (.jpg .png ...)"));
  }
  description.kind = SourceKind::kVideo;
  description.width = static_cast<int>(capture.get(cv::CAP_PROP_FRAME_WIDTH));
  description.height = static_cast<int>(capture.get(cv::CAP_PROP_FRAME_HEIGHT));
  description.frame_count = static_cast<int64_t>(capture.get(cv::CAP_PROP_FRAME_COUNT));
  description.fps = capture.get(cv::CAP_PROP_FPS);
  return std::make_unique<VideoSource>(description, std::move(capture));
}

}  // namespace fsc::media
