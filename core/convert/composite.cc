// Mask shaping, sharpening and the alpha composite of fsc convert (see composite.h).
#include "core/convert/composite.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "absl/strings/str_cat.h"

namespace fsc::convert {
namespace {

cv::Mat Disk(int radius) {
  return cv::getStructuringElement(cv::MORPH_ELLIPSE, {2 * radius + 1, 2 * radius + 1});
}

}  // namespace

absl::StatusOr<SharpenMethod> ParseSharpenMethod(const std::string& name) {
  if (name == "none") return SharpenMethod::kNone;
  if (name == "unsharp") return SharpenMethod::kUnsharp;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown sharpening \"", name, "\"; use one of: none, unsharp"));
}

cv::Mat BuildAlpha(const cv::Mat& region, int erode_px, int blur_px, const cv::Mat& limit) {
  cv::Mat binary;
  cv::compare(region, 0, binary, cv::CMP_GT);  // 255 inside, 0 outside
  if (erode_px > 0) {
    cv::erode(binary, binary, Disk(erode_px), {-1, -1}, 1, cv::BORDER_CONSTANT, 0);
  } else if (erode_px < 0) {
    cv::dilate(binary, binary, Disk(-erode_px));
    if (!limit.empty()) cv::bitwise_and(binary, limit, binary);
  }
  if (blur_px > 0) {
    // Shrink first so that the blur, whose square kernel reaches blur_px along each axis (and
    // further along the diagonals, hence a square and not a disk here), ends at the region's edge.
    const cv::Mat square =
        cv::getStructuringElement(cv::MORPH_RECT, {2 * blur_px + 1, 2 * blur_px + 1});
    cv::erode(binary, binary, square, {-1, -1}, 1, cv::BORDER_CONSTANT, 0);
  }
  cv::Mat alpha;
  binary.convertTo(alpha, CV_32F, 1.0 / 255.0);
  if (blur_px > 0) {
    const int k = 2 * blur_px + 1;
    cv::GaussianBlur(alpha, alpha, {k, k}, blur_px / 2.5, blur_px / 2.5, cv::BORDER_CONSTANT);
  }
  return alpha;
}

void UnsharpMask(cv::Mat* image, double sigma, double amount) {
  if (sigma <= 0 || amount == 0) return;
  cv::Mat blurred;
  cv::GaussianBlur(*image, blurred, {0, 0}, sigma, sigma, cv::BORDER_REPLICATE);
  cv::addWeighted(*image, 1.0 + amount, blurred, -amount, 0, *image);
}

void AlphaComposite(cv::Mat* frame, const cv::Mat& face, const cv::Mat& alpha) {
  for (int y = 0; y < frame->rows; ++y) {
    uint8_t* dst = frame->ptr<uint8_t>(y);
    const float* src = face.ptr<float>(y);
    const float* a = alpha.ptr<float>(y);
    for (int x = 0; x < frame->cols; ++x) {
      if (a[x] <= 0.0f) continue;
      for (int c = 0; c < 3; ++c) {
        const float old = dst[3 * x + c];
        const float value = old + a[x] * (src[3 * x + c] * 255.0f - old);
        dst[3 * x + c] = cv::saturate_cast<uint8_t>(value);
      }
    }
  }
}

absl::Status BlendFace(const FaceGeometry& geometry, const SwappedFace& swapped,
                       const BlendOptions& options, cv::Mat* frame) {
  if (frame->type() != CV_8UC3) return absl::InvalidArgumentError("BlendFace: frame is not BGR");
  const int size = geometry.model_size;
  if (swapped.face.type() != CV_32FC3 || swapped.face.rows != size || swapped.face.cols != size) {
    return absl::InvalidArgumentError(
        absl::StrCat("BlendFace: the swapped face must be ", size, "x", size, " float BGR"));
  }
  if (geometry.roi.empty()) return absl::OkStatus();
  const cv::Mat roi_frame = (*frame)(geometry.roi);

  // Where the model's square has real content: 255 strictly inside it.
  const cv::Mat ones(size, size, CV_8UC1, cv::Scalar(255));
  cv::Mat square = WarpToRoi(ones, geometry, cv::INTER_LINEAR, cv::BORDER_CONSTANT);
  cv::compare(square, 254, square, cv::CMP_GT);

  // The face region: the learned mask, the stored landmark mask, or one drawn from landmarks.
  cv::Mat region;
  if (!swapped.learned_mask.empty()) {
    cv::Mat mask = WarpToRoi(swapped.learned_mask, geometry, cv::INTER_LINEAR, cv::BORDER_CONSTANT);
    cv::compare(mask, 0.5, region, cv::CMP_GT);
  } else if (!swapped.stored_mask.empty()) {
    cv::Mat mask =
        WarpAlignedToRoi(swapped.stored_mask, swapped.to_aligned, swapped.aligned_size, geometry);
    cv::compare(mask, 127, region, cv::CMP_GT);
  } else {
    std::vector<cv::Point2f> local;
    for (const cv::Point2f& p : swapped.landmarks) {
      local.emplace_back(p.x - geometry.roi.x, p.y - geometry.roi.y);
    }
    region = face::BuildLandmarkMask(local, geometry.roi.size(), swapped.mask_type);
    if (region.empty()) return absl::InvalidArgumentError("face has no usable landmarks or mask");
  }
  cv::bitwise_and(region, square, region);

  const double scale = geometry.frame_per_aligned;
  const int erode_px = static_cast<int>(std::lround(options.erode * scale));
  const int blur_px = static_cast<int>(std::lround(options.blur * scale));
  cv::Mat alpha = BuildAlpha(region, erode_px, blur_px, square);
  cv::Mat stats_region;
  cv::compare(alpha, 0.0, stats_region, cv::CMP_GT);
  if (cv::countNonZero(stats_region) == 0) return absl::OkStatus();

  // The face in frame space (bicubic when upscaled, see UpscaleToRoi); upscaled faces may be
  // sharpened.
  const bool upscaled = geometry.frame_per_model > 1.0;
  cv::Mat face = UpscaleToRoi(swapped.face, geometry);
  if (upscaled && options.sharpen == SharpenMethod::kUnsharp) {
    UnsharpMask(&face, 0.5 * geometry.frame_per_model, options.sharpen_amount);
  }
  cv::Mat target;
  roi_frame.convertTo(target, CV_32F, 1.0 / 255.0);
  if (options.color != ColorMethod::kNone) {
    // Statistics come from the face region before feathering: the whole area being replaced.
    cv::Mat colour_region = region;
    if (cv::countNonZero(colour_region) == 0) colour_region = stats_region;
    absl::Status status = ApplyColorTransfer(options.color, &face, target, colour_region);
    if (!status.ok()) return status;
  }
  cv::Mat out = roi_frame;  // a view: writes land in *frame
  AlphaComposite(&out, face, alpha);
  return absl::OkStatus();
}

}  // namespace fsc::convert
