// Video (OpenCV/FFmpeg), single-image and image-folder frame sources.
#include "core/media/frame_source.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <opencv2/videoio.hpp>

#include "absl/strings/str_cat.h"
#include "core/media/image_reader.h"

namespace fsc::media {
namespace {

namespace fs = std::filesystem;

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
      done_ = true;
      // Containers state their length; stopping early means the rest did not decode.
      if (description_.frame_count > 0 && next_index_ < description_.frame_count) {
        warnings_.push_back(absl::StrCat(description_.path, ": decoded ", next_index_, " of ",
                                         description_.frame_count,
                                         " frames; the rest could not be read (truncated or "
                                         "corrupt video?)"));
      }
      return std::nullopt;
    }
    frame.index = next_index_++;
    return frame;
  }

  void SkipTo(int64_t index) override {
    while (!done_ && next_index_ < index) {
      // grab() demuxes and decodes but skips the colour conversion of read().
      if (!capture_.grab()) {
        done_ = true;
        if (description_.frame_count > 0 && next_index_ < description_.frame_count) {
          warnings_.push_back(absl::StrCat(description_.path, ": decoded ", next_index_, " of ",
                                           description_.frame_count,
                                           " frames; the rest could not be read (truncated or "
                                           "corrupt video?)"));
        }
        return;
      }
      ++next_index_;
    }
  }

 private:
  SourceDescription description_;
  cv::VideoCapture capture_;
  std::vector<std::string> warnings_;
  int64_t next_index_ = 0;
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
