// Faceswap's random warp maps, and their composition with an affine.
#include "core/train/random_warp.h"

#include <opencv2/imgproc.hpp>

namespace fsc::train {

void RandomWarpMaps(int size, const std::array<float, 25>& noise_x,
                    const std::array<float, 25>& noise_y, cv::Mat* map_x, cv::Mat* map_y) {
  constexpr int kGrid = 5;
  cv::Mat control_x(kGrid, kGrid, CV_32F), control_y(kGrid, kGrid, CV_32F);
  for (int row = 0; row < kGrid; ++row) {
    for (int col = 0; col < kGrid; ++col) {
      // np.linspace(0, size, 5): the grid spans the whole image, edges included.
      const float x = static_cast<float>(size) * col / (kGrid - 1);
      const float y = static_cast<float>(size) * row / (kGrid - 1);
      control_x.at<float>(row, col) = x + noise_x[row * kGrid + col];
      control_y.at<float>(row, col) = y + noise_y[row * kGrid + col];
    }
  }
  // Faceswap resizes the 5x5 grid to 1.25x the image and keeps the middle, which drops the
  // clamped border band of cv::resize's bilinear upsampling.
  const int pad = static_cast<int>(1.25 * size);
  const cv::Rect middle(pad / 10, pad / 10, size, size);
  cv::Mat dense;
  cv::resize(control_x, dense, cv::Size(pad, pad), 0, 0, cv::INTER_LINEAR);
  dense(middle).copyTo(*map_x);
  cv::resize(control_y, dense, cv::Size(pad, pad), 0, 0, cv::INTER_LINEAR);
  dense(middle).copyTo(*map_y);
}

void ComposeMapsWithAffine(const cv::Mat& affine, cv::Mat* map_x, cv::Mat* map_y) {
  cv::Mat inverse;
  cv::invertAffineTransform(affine, inverse);
  const double a = inverse.at<double>(0, 0), b = inverse.at<double>(0, 1),
               c = inverse.at<double>(0, 2), d = inverse.at<double>(1, 0),
               e = inverse.at<double>(1, 1), f = inverse.at<double>(1, 2);
  for (int row = 0; row < map_x->rows; ++row) {
    float* xs = map_x->ptr<float>(row);
    float* ys = map_y->ptr<float>(row);
    for (int col = 0; col < map_x->cols; ++col) {
      const double x = xs[col], y = ys[col];
      xs[col] = static_cast<float>(a * x + b * y + c);
      ys[col] = static_cast<float>(d * x + e * y + f);
    }
  }
}

}  // namespace fsc::train
