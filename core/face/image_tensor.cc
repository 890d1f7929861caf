// Square network input from an OpenCV frame, bit-compatible with face-api's TF.js preprocessing.
#include "core/face/image_tensor.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "absl/strings/str_cat.h"

namespace fsc::face {
namespace {

// One axis of TF's legacy bilinear resize (tf.image.resizeBilinear with alignCorners=false and
// halfPixelCenters=false, as the tfjs CPU backend computes it in double precision).
struct Taps {
  int lo = 0;
  int hi = 0;
  double frac = 0;
};

std::vector<Taps> AxisTaps(int old_size, int new_size) {
  std::vector<Taps> taps(new_size);
  const double ratio = static_cast<double>(old_size) / new_size;
  for (int i = 0; i < new_size; ++i) {
    const double src = ratio * i;
    const int lo = std::max(0, static_cast<int>(std::floor(src)));
    taps[i] = {lo, std::min(old_size - 1, static_cast<int>(std::ceil(src))), src - lo};
  }
  return taps;
}

}  // namespace

SquareInputGeometry ComputeSquareGeometry(int width, int height, int input_size) {
  SquareInputGeometry g;
  g.image_width = width;
  g.image_height = height;
  g.input_size = input_size;
  const double scale = static_cast<double>(input_size) / std::max(width, height);
  // JS Math.round rounds .5 up; std::floor(x + 0.5) does the same for positive x.
  g.reshaped_width = static_cast<int>(std::floor(width * scale + 0.5));
  g.reshaped_height = static_cast<int>(std::floor(height * scale + 0.5));
  return g;
}

absl::StatusOr<torch::Tensor> ToSquareInputTensor(const cv::Mat& image, int size,
                                                  const InputNormalization& norm,
                                                  SquareInputGeometry* geometry) {
  if (image.empty()) return absl::InvalidArgumentError("face detector input image is empty");
  if (image.depth() != CV_8U) {
    return absl::InvalidArgumentError(absl::StrCat(
        "face detector input must be 8-bit (BGR, gray or BGRA); got OpenCV type ", image.type()));
  }
  if (size < 1) return absl::InvalidArgumentError(absl::StrCat("bad input size ", size));
  cv::Mat bgr = image;
  if (image.channels() == 1) {
    cv::cvtColor(image, bgr, cv::COLOR_GRAY2BGR);
  } else if (image.channels() == 4) {
    cv::cvtColor(image, bgr, cv::COLOR_BGRA2BGR);
  } else if (image.channels() != 3) {
    return absl::InvalidArgumentError(absl::StrCat("face detector input has ", image.channels(),
                                                   " channels; expected 1, 3 or 4"));
  }
  const int width = bgr.cols;
  const int height = bgr.rows;
  const int side = std::max(width, height);  // the zero-padded square, in source pixels
  if (geometry != nullptr) *geometry = ComputeSquareGeometry(width, height, size);

  const std::vector<Taps> rows = AxisTaps(side, size);
  const std::vector<Taps> cols = AxisTaps(side, size);
  const float mean[3] = {norm.mean_rgb[0], norm.mean_rgb[1], norm.mean_rgb[2]};
  const float scale = norm.scale;

  // NHWC buffer viewed as NCHW: a channels-last tensor without a copy.
  torch::Tensor nhwc = torch::empty({1, size, size, 3}, torch::kFloat32);
  float* out = nhwc.data_ptr<float>();
  for (int r = 0; r < size; ++r) {
    const Taps& ty = rows[r];
    // Rows in the padding below the image read as zeros.
    const uint8_t* top = ty.lo < height ? bgr.ptr<uint8_t>(ty.lo) : nullptr;
    const uint8_t* bottom = ty.hi < height ? bgr.ptr<uint8_t>(ty.hi) : nullptr;
    for (int c = 0; c < size; ++c, out += 3) {
      const Taps& tx = cols[c];
      const bool left_in = tx.lo < width;
      const bool right_in = tx.hi < width;
      for (int ch = 0; ch < 3; ++ch) {
        const int bgr_ch = 2 - ch;
        auto at = [&](const uint8_t* row, bool in, int x) -> double {
          return row != nullptr && in ? row[3 * x + bgr_ch] : 0.0;
        };
        const double tl = at(top, left_in, tx.lo);
        const double tr = at(top, right_in, tx.hi);
        const double bl = at(bottom, left_in, tx.lo);
        const double br = at(bottom, right_in, tx.hi);
        const double t = tl + (tr - tl) * tx.frac;
        const double b = bl + (br - bl) * tx.frac;
        const float value = static_cast<float>(t + (b - t) * ty.frac);
        out[ch] = (value - mean[ch]) * scale;
      }
    }
  }
  return nhwc.permute({0, 3, 1, 2});
}

}  // namespace fsc::face
