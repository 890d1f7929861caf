// Looks for fsc's synthetic label in a video or image: the watermark in sampled frames, the tag
// in the container or image chunks (see verify.h).
#include "core/convert/verify.h"

#include <unistd.h>

#include <algorithm>
#include <exception>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/convert/synthetic_label.h"
#include "core/convert/watermark.h"
#include "core/media/frame_source.h"
#include "core/media/image_header.h"
#include "core/media/image_reader.h"
#include "core/util/file_io.h"
#include "core/util/progress.h"
#include "core/util/subprocess.h"

namespace fsc::convert {
namespace {

// Videos up to this many frames are read straight through (grab without converting the frames
// that are not scored); longer ones are sampled by seeking, which costs a keyframe decode each.
constexpr int64_t kSequentialLimit = 3000;

// Adds one frame's detector response to the report and the running sum.
void Score(const cv::Mat& frame, VerifyReport* report, std::vector<float>* sum) {
  std::vector<float> response = WatermarkResponse(frame);
  ++report->frames_checked;
  if (response.empty()) return;
  WatermarkScore score = ScoreResponse(response);
  if (report->frames_checked == 1 || score.z > report->best_z) report->best_z = score.z;
  if (score.found) ++report->frames_with_watermark;
  if (sum->empty()) sum->assign(response.size(), 0.f);
  for (size_t i = 0; i < response.size(); ++i) (*sum)[i] += response[i];
}

void Conclude(const std::vector<float>& sum, VerifyReport* report) {
  report->combined_z = ScoreResponse(sum).z;
  // Either test alone keeps the false-positive bound (watermark.h): one frame at z >= 6, or the
  // frames together.
  report->watermark_found = report->frames_with_watermark > 0 || report->combined_z >= kFoundZ;
  report->confidence = ConfidenceFromZ(std::max(report->best_z, report->combined_z));
}

// Reads the container's tags with ffprobe; a missing ffprobe leaves metadata_checked false.
void CheckContainerTags(const std::string& path, VerifyReport* report) {
  auto probe = util::RunProcess(
      {"ffprobe", "-v", "error", "-show_entries", "format_tags:stream_tags", "-of", "json", path});
  if (!probe.ok() || probe->exit_code != 0) return;
  nlohmann::json json = nlohmann::json::parse(probe->out, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return;
  report->metadata_checked = true;
  std::vector<const nlohmann::json*> tag_sets;
  if (json.contains("format") && json["format"].contains("tags")) {
    tag_sets.push_back(&json["format"]["tags"]);
  }
  if (json.contains("streams") && json["streams"].is_array()) {
    for (const auto& stream : json["streams"]) {
      if (stream.contains("tags")) tag_sets.push_back(&stream["tags"]);
    }
  }
  for (const nlohmann::json* tags : tag_sets) {
    if (!tags->is_object()) continue;
    for (const auto& [key, value] : tags->items()) {
      if (value.is_string() && IsSyntheticLabel(value.get<std::string>())) {
        report->metadata_found = true;
        report->metadata = value.get<std::string>();
        return;
      }
    }
  }
}

absl::StatusOr<VerifyReport> VerifyImage(const std::string& path, const std::string& bytes,
                                         const VerifyOptions& options) {
  absl::StatusOr<cv::Mat> decoded = media::DecodeImage(bytes, cv::IMREAD_COLOR, path);
  if (!decoded.ok()) return absl::InvalidArgumentError(decoded.status().message());
  const cv::Mat& image = *decoded;
  VerifyReport report;
  std::vector<float> sum;
  Score(image, &report, &sum);
  Conclude(sum, &report);
  if (options.check_metadata) {
    report.metadata_checked = true;
    if (auto label = FindImageLabel(bytes)) {
      report.metadata_found = true;
      report.metadata = *label;
    }
  }
  return report;
}

absl::StatusOr<VerifyReport> VerifyVideo(const std::string& path, cv::VideoCapture* capture,
                                         const VerifyOptions& options) {
  VerifyReport report;
  report.is_video = true;
  const int max_frames = std::max(1, options.max_frames);
  const int64_t count = static_cast<int64_t>(capture->get(cv::CAP_PROP_FRAME_COUNT));
  // The frame indices to score: all of a short video, else max_frames evenly spaced.
  std::vector<int64_t> wanted;
  if (count > max_frames) {
    for (int i = 0; i < max_frames; ++i) wanted.push_back(i * count / max_frames);
  }
  std::unique_ptr<util::Progress> progress;
  if (::isatty(STDERR_FILENO)) {
    progress =
        std::make_unique<util::Progress>("verify", wanted.empty() ? 0 : max_frames, "frames");
  }
  std::vector<float> sum;
  cv::Mat frame;
  try {
    if (wanted.empty()) {
      while (report.frames_checked < max_frames && capture->read(frame)) {
        Score(frame, &report, &sum);
        if (progress) progress->Update(report.frames_checked);
      }
    } else if (count <= kSequentialLimit) {
      size_t next = 0;
      for (int64_t index = 0; next < wanted.size() && capture->grab(); ++index) {
        if (index != wanted[next]) continue;
        ++next;
        if (capture->retrieve(frame)) Score(frame, &report, &sum);
        if (progress) progress->Update(report.frames_checked);
      }
    } else {
      for (int64_t index : wanted) {
        capture->set(cv::CAP_PROP_POS_FRAMES, static_cast<double>(index));
        if (capture->read(frame)) Score(frame, &report, &sum);
        if (progress) progress->Update(report.frames_checked);
      }
    }
  } catch (const std::exception& e) {
    return absl::DataLossError(absl::StrCat(path, ": decoding failed: ", e.what()));
  }
  if (progress) progress->Finish();
  if (report.frames_checked == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": no frame could be decoded (corrupt or unsupported video)"));
  }
  Conclude(sum, &report);
  if (options.check_metadata) CheckContainerTags(path, &report);
  return report;
}

}  // namespace

absl::StatusOr<VerifyReport> VerifyFile(const std::string& path, const VerifyOptions& options) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return absl::NotFoundError(absl::StrCat(path, ": no such file"));
  }
  if (!std::filesystem::is_regular_file(path, ec)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a regular file"));
  }
  if (::access(path.c_str(), R_OK) != 0) {
    return absl::PermissionDeniedError(absl::StrCat(path, ": cannot open for reading"));
  }
  if (media::HasImageExtension(path)) {
    auto bytes = media::ReadImageFile(path);
    if (!bytes.ok()) return bytes.status();
    return VerifyImage(path, *bytes, options);
  }
  cv::VideoCapture capture;
  try {
    capture.open(path, cv::CAP_FFMPEG);
  } catch (const std::exception&) {
    capture.release();
  }
  if (capture.isOpened()) return VerifyVideo(path, &capture, options);
  // Not a video OpenCV can open: maybe an image with an unusual name. Its own error counts once
  // its header says it is an image (too large, corrupt pixels...).
  auto bytes = media::ReadImageFile(path);
  if (!bytes.ok()) return bytes.status();
  if (!media::ReadImageHeader(*bytes).ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": neither a video nor an image that fsc can decode (corrupt or unsupported)"));
  }
  return VerifyImage(path, *bytes, options);
}

}  // namespace fsc::convert
