// Colour matching maths of fsc convert on synthetic images with known statistics: avg-color
// equalises the means, RCT the L*a*b* means and deviations, hist-match maps one known
// distribution onto another, seamless keeps the face's gradients under the target's colours;
// statistics come only from inside the region.
#include "core/convert/color_transfer.h"

#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

namespace fsc::convert {
namespace {

// Float BGR noise around `mean` with per-channel deviation `stddev`, fixed seed.
cv::Mat Noise(cv::Size size, cv::Scalar mean, cv::Scalar stddev, uint64_t seed) {
  cv::RNG rng(seed);
  cv::Mat image(size, CV_32FC3);
  rng.fill(image, cv::RNG::NORMAL, mean, stddev);
  return image;
}

cv::Mat Disc(cv::Size size, int radius) {
  cv::Mat region = cv::Mat::zeros(size, CV_8UC1);
  cv::circle(region, {size.width / 2, size.height / 2}, radius, 255, cv::FILLED);
  return region;
}

TEST(ColorTransferTest, NamesParseAndUnknownIsRefused) {
  for (const std::string& name : ColorMethodNames()) {
    absl::StatusOr<ColorMethod> method = ParseColorMethod(name);
    ASSERT_TRUE(method.ok()) << name;
    EXPECT_EQ(ColorMethodName(*method), name);
  }
  absl::StatusOr<ColorMethod> bad = ParseColorMethod("sepia");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("rct"), std::string::npos);
}

TEST(ColorTransferTest, AverageColorMatchesMeansInsideTheRegion) {
  const cv::Size size(80, 60);
  cv::Mat face = Noise(size, {0.3, 0.5, 0.6}, {0.05, 0.05, 0.05}, 1);
  cv::Mat target = Noise(size, {0.6, 0.4, 0.2}, {0.08, 0.02, 0.1}, 2);
  const cv::Mat region = Disc(size, 20);
  // Outside the region the target is something else entirely: it must not count.
  target.setTo(cv::Scalar(1, 1, 1), ~region);
  ASSERT_TRUE(ApplyColorTransfer(ColorMethod::kAvgColor, &face, target, region).ok());
  const cv::Scalar got = cv::mean(face, region), want = cv::mean(target, region);
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(got[c], want[c], 1e-5) << "channel " << c;
}

TEST(ColorTransferTest, RctEqualisesLabMeanAndDeviationInsideTheRegion) {
  const cv::Size size(96, 96);
  cv::Mat face = Noise(size, {0.35, 0.45, 0.55}, {0.04, 0.05, 0.03}, 3);
  cv::Mat target = Noise(size, {0.45, 0.40, 0.42}, {0.06, 0.04, 0.05}, 4);
  const cv::Mat region = Disc(size, 30);
  target.setTo(cv::Scalar(0, 1, 0), ~region);
  ASSERT_TRUE(ApplyColorTransfer(ColorMethod::kRct, &face, target, region).ok());
  cv::Mat face_lab, target_lab;
  cv::cvtColor(face, face_lab, cv::COLOR_BGR2Lab);
  cv::cvtColor(target, target_lab, cv::COLOR_BGR2Lab);
  cv::Scalar face_mean, face_std, target_mean, target_std;
  MaskedMeanStd(face_lab, region, &face_mean, &face_std);
  MaskedMeanStd(target_lab, region, &target_mean, &target_std);
  for (int c = 0; c < 3; ++c) {
    // L* is 0..100, a*/b* about ±127: a tenth of a unit is OpenCV's float L*a*b* round trip
    // (its sRGB curve is a spline), far below what the eye or an 8-bit frame resolves.
    EXPECT_NEAR(face_mean[c], target_mean[c], 0.15) << "channel " << c;
    EXPECT_NEAR(face_std[c], target_std[c], 0.15) << "channel " << c;
  }
  // And the transfer did something: the untouched face's statistics were far away.
  cv::Mat original = Noise(size, {0.35, 0.45, 0.55}, {0.04, 0.05, 0.03}, 3), original_lab;
  cv::cvtColor(original, original_lab, cv::COLOR_BGR2Lab);
  cv::Scalar original_mean, original_std;
  MaskedMeanStd(original_lab, region, &original_mean, &original_std);
  EXPECT_GT(std::abs(original_mean[2] - target_mean[2]), 3.0);
}

TEST(ColorTransferTest, HistogramMatchMapsAKnownDistribution) {
  // Face: every channel uniform on [0, 0.5] (a ramp); target: uniform on [0.5, 1]. The
  // cumulative histograms match when v -> v + 0.5.
  const cv::Size size(256, 64);
  cv::Mat face(size, CV_32FC3), target(size, CV_32FC3);
  for (int y = 0; y < size.height; ++y) {
    for (int x = 0; x < size.width; ++x) {
      const float v = 0.5f * x / (size.width - 1);
      face.at<cv::Vec3f>(y, x) = {v, v, v};
      target.at<cv::Vec3f>(y, x) = {0.5f + v, 0.5f + v, 0.5f + v};
    }
  }
  cv::Mat region(size, CV_8UC1, cv::Scalar(255));
  region.rowRange(0, 8).setTo(0);
  target.rowRange(0, 8).setTo(cv::Scalar(0, 0, 0));  // outside the region: ignored
  cv::Mat original = face.clone();
  ASSERT_TRUE(ApplyColorTransfer(ColorMethod::kHistMatch, &face, target, region).ok());
  double worst = 0;
  for (int y = 8; y < size.height; ++y) {
    for (int x = 0; x < size.width; ++x) {
      for (int c = 0; c < 3; ++c) {
        const float want = original.at<cv::Vec3f>(y, x)[c] + 0.5f;
        worst = std::max(worst, std::abs(double(face.at<cv::Vec3f>(y, x)[c]) - want));
      }
    }
  }
  EXPECT_LT(worst, 2.0 / 255) << "histogram matching is off by " << worst * 255 << " levels";
}

TEST(ColorTransferTest, SeamlessKeepsGradientsAndTakesTheTargetsColours) {
  // The face is the target's texture plus a constant cast: Poisson blending keeps the gradients
  // (the texture) and takes the level from the target's border, so the cast disappears.
  const cv::Size size(90, 90);
  cv::Mat target(size, CV_32FC3);
  for (int y = 0; y < size.height; ++y) {
    for (int x = 0; x < size.width; ++x) {
      const float v = 0.4f + 0.2f * std::sin(x * 0.2f) * std::cos(y * 0.15f);
      target.at<cv::Vec3f>(y, x) = {v, 0.8f * v, 0.6f * v};
    }
  }
  cv::Mat face = target + cv::Scalar(0.25, -0.2, 0.3);
  const cv::Mat region = Disc(size, 30);
  ASSERT_TRUE(ApplyColorTransfer(ColorMethod::kSeamless, &face, target, region).ok());
  cv::Mat diff;
  cv::absdiff(face, target, diff);
  // Only the 8-bit rounding seamlessClone works in is left.
  const cv::Scalar mean_diff = cv::mean(diff, region);
  for (int c = 0; c < 3; ++c) EXPECT_LT(mean_diff[c], 3.0 / 255) << "channel " << c;
}

TEST(ColorTransferTest, NoneAndEmptyRegionLeaveTheFaceAlone) {
  const cv::Size size(32, 32);
  cv::Mat face = Noise(size, {0.5, 0.5, 0.5}, {0.1, 0.1, 0.1}, 5);
  const cv::Mat original = face.clone();
  const cv::Mat target = Noise(size, {0.2, 0.2, 0.2}, {0.1, 0.1, 0.1}, 6);
  ASSERT_TRUE(ApplyColorTransfer(ColorMethod::kNone, &face, target, Disc(size, 10)).ok());
  EXPECT_EQ(cv::norm(face, original, cv::NORM_INF), 0);
  ASSERT_TRUE(
      ApplyColorTransfer(ColorMethod::kRct, &face, target, cv::Mat::zeros(size, CV_8UC1)).ok());
  EXPECT_EQ(cv::norm(face, original, cv::NORM_INF), 0);
}

TEST(ColorTransferTest, MismatchedImagesAreRefused) {
  cv::Mat face(10, 10, CV_32FC3, cv::Scalar(0.5, 0.5, 0.5));
  cv::Mat target(12, 10, CV_32FC3, cv::Scalar(0.5, 0.5, 0.5));
  absl::Status status =
      ApplyColorTransfer(ColorMethod::kAvgColor, &face, target, cv::Mat::ones(10, 10, CV_8UC1));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fsc::convert
