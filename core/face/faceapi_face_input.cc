// face-api's face crop -> network input preprocessing (see faceapi_face_input.h for the steps).
#include "core/face/faceapi_face_input.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "absl/strings/str_cat.h"

namespace fsc::face {
namespace {

// face-api's mean RGB, subtracted before dividing by 255 (FaceFeatureExtractor,
// FaceRecognitionNet).
constexpr float kMeanRgb[3] = {122.782f, 117.001f, 104.298f};

// One axis of the resize: for each output index, the two padded-square source indices mapped to
// crop indices (-1 where they fall in the zero padding) and the interpolation fraction.
struct AxisSample {
  int lo = -1;
  int hi = -1;
  double frac = 0;
};

std::vector<AxisSample> SampleAxis(int side, int size, int pad_before, int extent) {
  std::vector<AxisSample> samples(size);
  // tfjs' CPU resizeBilinear: effective ratio in / out, source = ratio * dst (no half pixel).
  // When no resize happens (side == size) the ratio is 1 and fractions are 0: a plain copy.
  const double ratio = static_cast<double>(side) / size;
  for (int i = 0; i < size; ++i) {
    const double src = ratio * i;
    const int lo = std::max(0, static_cast<int>(std::floor(src)));
    const int hi = std::min(side - 1, static_cast<int>(std::ceil(src)));
    auto to_crop = [&](int p) {
      const int q = p - pad_before;
      return q >= 0 && q < extent ? q : -1;
    };
    samples[i] = {to_crop(lo), to_crop(hi), src - lo};
  }
  return samples;
}

}  // namespace

absl::StatusOr<cv::Mat> FaceApiBgr(const cv::Mat& image, const std::string& net) {
  if (image.empty() || image.depth() != CV_8U ||
      (image.channels() != 1 && image.channels() != 3 && image.channels() != 4)) {
    return absl::InvalidArgumentError(
        absl::StrCat(net, ": expected a non-empty 8-bit BGR image, got ", image.cols, "x",
                     image.rows, " with ", image.channels(), " channels of depth ", image.depth()));
  }
  cv::Mat bgr = image;
  if (image.channels() == 1) cv::cvtColor(image, bgr, cv::COLOR_GRAY2BGR);
  if (image.channels() == 4) cv::cvtColor(image, bgr, cv::COLOR_BGRA2BGR);
  return bgr;
}

FaceApiCrop ClipAtImageBorders(double x, double y, double width, double height, int image_width,
                               int image_height) {
  const double clipped_x = std::max(x, 0.0);
  const double clipped_y = std::max(y, 0.0);
  const double clipped_w = std::min(x + width - clipped_x, image_width - clipped_x);
  const double clipped_h = std::min(y + height - clipped_y, image_height - clipped_y);
  // Empty (face-api would get a non-positive size here); checked first so that the casts below
  // only see values within the image, whatever the box.
  if (!(clipped_w >= 1 && clipped_h >= 1)) return FaceApiCrop{};
  return {static_cast<int>(std::floor(clipped_x)), static_cast<int>(std::floor(clipped_y)),
          static_cast<int>(std::floor(clipped_w)), static_cast<int>(std::floor(clipped_h))};
}

void WriteFaceApiInput(const cv::Mat& bgr, const FaceApiCrop& crop, int size, float* out) {
  const int w = crop.width;
  const int h = crop.height;
  const int side = std::max(w, h);
  const int diff = std::abs(w - h);
  // padToSquare(isCenterImage=true): Math.round(diff * 0.5) zeros after, the remainder before.
  const int after = static_cast<int>(std::floor(diff * 0.5 + 0.5));
  const int before = diff - after;
  const std::vector<AxisSample> rows = SampleAxis(side, size, h < w ? before : 0, h);
  const std::vector<AxisSample> cols = SampleAxis(side, size, w < h ? before : 0, w);

  double top[3], bottom[3], tl[3], tr[3], bl[3], br[3];
  auto fetch = [&](const uint8_t* row, int col, double* rgb) {
    if (row == nullptr || col < 0) {
      rgb[0] = rgb[1] = rgb[2] = 0;
      return;
    }
    const uint8_t* px = row + 3 * (crop.x + col);
    rgb[0] = px[2];
    rgb[1] = px[1];
    rgb[2] = px[0];
  };
  auto row_ptr = [&](int r) -> const uint8_t* {
    return r < 0 ? nullptr : bgr.ptr<uint8_t>(crop.y + r);
  };
  for (int r = 0; r < size; ++r) {
    const uint8_t* row_lo = row_ptr(rows[r].lo);
    const uint8_t* row_hi = row_ptr(rows[r].hi);
    const double rf = rows[r].frac;
    for (int c = 0; c < size; ++c) {
      const AxisSample& cs = cols[c];
      fetch(row_lo, cs.lo, tl);
      fetch(row_lo, cs.hi, tr);
      fetch(row_hi, cs.lo, bl);
      fetch(row_hi, cs.hi, br);
      float* value = out + 3 * (static_cast<size_t>(r) * size + c);
      for (int ch = 0; ch < 3; ++ch) {
        // Same operation order as tfjs, in double, stored as float32 like its Float32Array.
        top[ch] = tl[ch] + (tr[ch] - tl[ch]) * cs.frac;
        bottom[ch] = bl[ch] + (br[ch] - bl[ch]) * cs.frac;
        const float resized = static_cast<float>(top[ch] + (bottom[ch] - top[ch]) * rf);
        value[ch] = (resized - kMeanRgb[ch]) / 255.0f;
      }
    }
  }
}

}  // namespace fsc::face
