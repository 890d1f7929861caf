// Putting a swapped face back: the geometry matches the trainer's coverage crop, the alpha mask
// never leaves its region, the composite writes only where the mask is non-zero (everything else
// stays bit-identical, for every colour method), and sharpening only touches upscaled faces.
#include "core/convert/composite.h"

#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "core/convert/face_warp.h"
#include "core/train/augment.h"

namespace fsc::convert {
namespace {

// A textured 8-bit frame (smooth pattern plus noise), fixed seed.
cv::Mat Frame(cv::Size size, uint64_t seed) {
  cv::Mat frame(size, CV_8UC3);
  cv::RNG rng(seed);
  rng.fill(frame, cv::RNG::UNIFORM, 0, 40);
  for (int y = 0; y < size.height; ++y) {
    for (int x = 0; x < size.width; ++x) {
      cv::Vec3b& p = frame.at<cv::Vec3b>(y, x);
      p[0] += static_cast<uint8_t>(100 + 60 * std::sin(x * 0.05));
      p[1] += static_cast<uint8_t>(90 + 50 * std::cos(y * 0.07));
      p[2] += static_cast<uint8_t>(80 + 40 * std::sin((x + y) * 0.03));
    }
  }
  return frame;
}

// Frame -> aligned (256 px): a rotation by `degrees`, scale `scale`, face centre at `centre`.
cv::Mat ToAligned(cv::Point2d centre, double scale, double degrees) {
  cv::Mat m = cv::getRotationMatrix2D(centre, degrees, scale);
  m.at<double>(0, 2) += 128 - centre.x;
  m.at<double>(1, 2) += 128 - centre.y;
  return m;
}

TEST(FaceWarpTest, CoverageCropMapsTheTrainersCropOntoTheModelSquare) {
  const cv::Mat to_aligned = ToAligned({200, 150}, 1.6, 12);
  absl::StatusOr<FaceGeometry> g = ComputeFaceGeometry(to_aligned, 256, 0.875, 64, {400, 300});
  ASSERT_TRUE(g.ok()) << g.status();
  // The aligned crop's pixel edges at pad = 16 and 256 - 16 become the model square's edges.
  cv::Mat to_frame;
  cv::invertAffineTransform(to_aligned, to_frame);
  auto frame_point = [&](double ax, double ay) {
    return cv::Point2d(
        to_frame.at<double>(0, 0) * ax + to_frame.at<double>(0, 1) * ay + to_frame.at<double>(0, 2),
        to_frame.at<double>(1, 0) * ax + to_frame.at<double>(1, 1) * ay +
            to_frame.at<double>(1, 2));
  };
  auto model_point = [&](cv::Point2d p) {
    return cv::Point2d(g->to_model.at<double>(0, 0) * p.x + g->to_model.at<double>(0, 1) * p.y +
                           g->to_model.at<double>(0, 2),
                       g->to_model.at<double>(1, 0) * p.x + g->to_model.at<double>(1, 1) * p.y +
                           g->to_model.at<double>(1, 2));
  };
  cv::Point2d tl = model_point(frame_point(15.5, 15.5));
  cv::Point2d br = model_point(frame_point(239.5, 239.5));
  EXPECT_NEAR(tl.x, -0.5, 1e-9);
  EXPECT_NEAR(tl.y, -0.5, 1e-9);
  EXPECT_NEAR(br.x, 63.5, 1e-9);
  EXPECT_NEAR(br.y, 63.5, 1e-9);
  EXPECT_NEAR(g->frame_per_aligned, 1 / 1.6, 1e-9);
  EXPECT_NEAR(g->frame_per_model, 224.0 / 64 / 1.6, 1e-9);
  EXPECT_TRUE((g->roi & cv::Rect(0, 0, 400, 300)) == g->roi);
}

TEST(FaceWarpTest, ModelInputMatchesTheTrainersPreparedFace) {
  // What the trainer sees: the aligned 256 px crop, coverage-cropped and area-scaled to 64
  // (train::PrepareFace). Convert warps the frame straight to 64 px; the two agree closely.
  cv::Mat frame;
  cv::GaussianBlur(Frame({500, 400}, 7), frame, {0, 0}, 2.0);
  const cv::Mat to_aligned = ToAligned({250, 200}, 0.9, -8);
  cv::Mat aligned;
  cv::warpAffine(frame, aligned, to_aligned, {256, 256}, cv::INTER_LINEAR);
  train::TrainingFace face;
  face.image = aligned;
  face.landmarks.assign(68, cv::Point2f(128, 128));
  train::AugmentOptions augment;
  augment.size = 64;
  augment.coverage = 0.875;
  augment.augment = false;
  const train::PreparedFace prepared = train::PrepareFace(face, augment, std::nullopt);

  absl::StatusOr<FaceGeometry> g = ComputeFaceGeometry(to_aligned, 256, 0.875, 64, frame.size());
  ASSERT_TRUE(g.ok());
  const cv::Mat input = WarpToModel(frame, *g);
  ASSERT_EQ(input.size(), prepared.image.size());
  cv::Mat diff;
  cv::absdiff(input, prepared.image, diff);
  const cv::Scalar mean = cv::mean(diff);
  for (int c = 0; c < 3; ++c) EXPECT_LT(mean[c], 2.0) << "channel " << c;
}

TEST(FaceWarpTest, UpscaleToRoiMatchesADirectBicubicWarp) {
  // A model output with detail at its own pixel scale, shown 3.5x larger and rotated.
  cv::Mat face(64, 64, CV_32FC3);
  cv::RNG rng(7);
  rng.fill(face, cv::RNG::UNIFORM, 0.0, 1.0);
  cv::GaussianBlur(face, face, {0, 0}, 1.0);
  const cv::Mat to_aligned = ToAligned({300, 260}, 1.0, 17);
  absl::StatusOr<FaceGeometry> g = ComputeFaceGeometry(to_aligned, 256, 0.875, 64, {640, 480});
  ASSERT_TRUE(g.ok()) << g.status();
  ASSERT_GT(g->frame_per_model, 3.0);
  const cv::Mat direct = WarpToRoi(face, *g, cv::INTER_CUBIC, cv::BORDER_REPLICATE);
  const cv::Mat fast = UpscaleToRoi(face, *g);
  ASSERT_EQ(fast.size(), direct.size());
  ASSERT_EQ(fast.type(), direct.type());
  cv::Mat diff;
  cv::absdiff(fast, direct, diff);
  double max_diff = 0;
  cv::minMaxLoc(diff.reshape(1), nullptr, &max_diff);
  const cv::Scalar mean_diff = cv::mean(diff);
  // Measured: mean 0.0017, max 0.015. The direct warp shifted by a tenth of a model pixel differs
  // from itself by 0.0038 on average, so a misplaced upscale cannot pass.
  EXPECT_LT((mean_diff[0] + mean_diff[1] + mean_diff[2]) / 3, 0.0025);
  EXPECT_LT(max_diff, 0.03);
}

TEST(CompositeTest, AlphaCompositeWritesOnlyWhereAlphaIsPositive) {
  cv::Mat frame = Frame({40, 30}, 1);
  const cv::Mat original = frame.clone();
  cv::Mat face(frame.size(), CV_32FC3, cv::Scalar(0.1, 0.9, 0.5));
  cv::Mat alpha = cv::Mat::zeros(frame.size(), CV_32FC1);
  alpha(cv::Rect(5, 5, 10, 10)).setTo(1.0);
  alpha(cv::Rect(20, 5, 10, 10)).setTo(0.5);
  AlphaComposite(&frame, face, alpha);
  for (int y = 0; y < frame.rows; ++y) {
    for (int x = 0; x < frame.cols; ++x) {
      const float a = alpha.at<float>(y, x);
      const cv::Vec3b got = frame.at<cv::Vec3b>(y, x), old = original.at<cv::Vec3b>(y, x);
      for (int c = 0; c < 3; ++c) {
        const double want =
            a == 0 ? old[c] : old[c] + a * (face.at<cv::Vec3f>(y, x)[c] * 255 - old[c]);
        ASSERT_NEAR(got[c], want, 0.5001) << x << "," << y;
        if (a == 0) {
          ASSERT_EQ(got[c], old[c]);
        }
      }
    }
  }
}

TEST(CompositeTest, AlphaStaysInsideTheErodedRegionAndReachesOneInside) {
  cv::Mat region = cv::Mat::zeros(120, 120, CV_8UC1);
  cv::circle(region, {60, 60}, 40, 255, cv::FILLED);
  for (int erode : {0, 5, -4}) {
    const cv::Mat alpha = BuildAlpha(region, erode, 8, region);
    cv::Mat limit = region.clone();
    if (erode > 0) {
      cv::erode(region, limit,
                cv::getStructuringElement(cv::MORPH_ELLIPSE, {2 * erode + 1, 2 * erode + 1}));
    }
    for (int y = 0; y < 120; ++y) {
      for (int x = 0; x < 120; ++x) {
        if (!limit.at<uint8_t>(y, x)) {
          ASSERT_EQ(alpha.at<float>(y, x), 0.0f) << x << "," << y;
        }
      }
    }
    EXPECT_NEAR(alpha.at<float>(60, 60), 1.0f, 1e-5);
    // The feather: values strictly between 0 and 1 exist near the edge.
    double lo = 0, hi = 0;
    cv::Mat ramp = alpha(cv::Rect(60, 59, 45, 1));
    cv::minMaxLoc(ramp, &lo, &hi);
    EXPECT_EQ(lo, 0.0);
    EXPECT_NEAR(hi, 1.0, 1e-5);
    EXPECT_GT(cv::countNonZero((ramp > 0.05) & (ramp < 0.95)), 3) << "erode " << erode;
  }
}

class BlendFaceTest : public ::testing::TestWithParam<ColorMethod> {};

TEST_P(BlendFaceTest, PixelsOutsideTheMaskAreBitIdentical) {
  const cv::Mat original = Frame({320, 240}, 3);
  const cv::Mat to_aligned = ToAligned({170, 120}, 1.8, 20);  // face upscaled in the frame
  absl::StatusOr<FaceGeometry> g = ComputeFaceGeometry(to_aligned, 256, 0.875, 64, original.size());
  ASSERT_TRUE(g.ok());
  SwappedFace swapped;
  swapped.to_aligned = to_aligned;
  swapped.aligned_size = 256;
  swapped.stored_mask = cv::Mat::zeros(128, 128, CV_8UC1);  // stored at half the aligned size
  cv::ellipse(swapped.stored_mask, {64, 70}, {40, 50}, 0, 0, 360, 255, cv::FILLED);
  swapped.face = cv::Mat(64, 64, CV_32FC3);
  cv::RNG rng(9);
  rng.fill(swapped.face, cv::RNG::UNIFORM, 0.2, 0.8);
  BlendOptions options;
  options.color = GetParam();
  options.erode = 4;
  options.blur = 10;
  options.sharpen = SharpenMethod::kUnsharp;
  cv::Mat frame = original.clone();
  ASSERT_TRUE(BlendFace(*g, swapped, options, &frame).ok());

  // The mask region in frame pixels: the stored mask carried into the frame.
  cv::Mat to_mask = to_aligned * 0.5, region;
  cv::warpAffine(swapped.stored_mask, region, to_mask, original.size(),
                 cv::INTER_LINEAR | cv::WARP_INVERSE_MAP);
  int changed_inside = 0, outside = 0;
  for (int y = 0; y < frame.rows; ++y) {
    for (int x = 0; x < frame.cols; ++x) {
      const bool inside = region.at<uint8_t>(y, x) > 0;
      const bool same = frame.at<cv::Vec3b>(y, x) == original.at<cv::Vec3b>(y, x);
      if (!inside) {
        ++outside;
        ASSERT_TRUE(same) << "pixel " << x << "," << y << " outside the mask changed";
      } else if (!same) {
        ++changed_inside;
      }
    }
  }
  EXPECT_GT(outside, 0);
  EXPECT_GT(changed_inside, 2000) << "the face was not blended in";
}

INSTANTIATE_TEST_SUITE_P(AllColors, BlendFaceTest,
                         ::testing::Values(ColorMethod::kNone, ColorMethod::kAvgColor,
                                           ColorMethod::kRct, ColorMethod::kHistMatch,
                                           ColorMethod::kSeamless));

TEST(CompositeTest, LandmarkMaskIsDrawnWhenNoneIsStored) {
  const cv::Mat original = Frame({200, 200}, 4);
  const cv::Mat to_aligned = ToAligned({100, 100}, 1.0, 0);
  absl::StatusOr<FaceGeometry> g = ComputeFaceGeometry(to_aligned, 256, 1.0, 64, original.size());
  ASSERT_TRUE(g.ok());
  SwappedFace swapped;
  swapped.to_aligned = to_aligned;
  swapped.aligned_size = 256;
  // 68 points on a circle of radius 40 about the centre: the hull is that circle.
  for (int i = 0; i < 68; ++i) {
    swapped.landmarks.emplace_back(100 + 40 * std::cos(i * 2 * M_PI / 68),
                                   100 + 40 * std::sin(i * 2 * M_PI / 68));
  }
  swapped.mask_type = face::MaskType::kHull;
  swapped.face = cv::Mat(64, 64, CV_32FC3, cv::Scalar(1, 1, 1));
  BlendOptions options;
  options.color = ColorMethod::kNone;
  options.blur = 0;
  cv::Mat frame = original.clone();
  ASSERT_TRUE(BlendFace(*g, swapped, options, &frame).ok());
  EXPECT_EQ(frame.at<cv::Vec3b>(100, 100), cv::Vec3b(255, 255, 255));
  EXPECT_EQ(frame.at<cv::Vec3b>(100, 150), original.at<cv::Vec3b>(100, 150));
  EXPECT_EQ(frame.at<cv::Vec3b>(30, 30), original.at<cv::Vec3b>(30, 30));
}

TEST(CompositeTest, LearnedMaskDecidesWhereTheFaceGoes) {
  const cv::Mat original = Frame({240, 200}, 5);
  const cv::Mat to_aligned = ToAligned({120, 100}, 1.2, -15);
  absl::StatusOr<FaceGeometry> g = ComputeFaceGeometry(to_aligned, 256, 0.875, 64, original.size());
  ASSERT_TRUE(g.ok());
  SwappedFace swapped;
  swapped.to_aligned = to_aligned;
  swapped.aligned_size = 256;
  swapped.face = cv::Mat(64, 64, CV_32FC3, cv::Scalar(0.9, 0.1, 0.9));
  // The model's mask: a disc in the model square; the stored landmark mask must be ignored.
  swapped.learned_mask = cv::Mat::zeros(64, 64, CV_32FC1);
  cv::circle(swapped.learned_mask, {32, 32}, 20, 1.0, cv::FILLED);
  swapped.stored_mask = cv::Mat(128, 128, CV_8UC1, cv::Scalar(255));
  BlendOptions options;
  options.color = ColorMethod::kNone;
  options.blur = 4;
  cv::Mat frame = original.clone();
  ASSERT_TRUE(BlendFace(*g, swapped, options, &frame).ok());
  cv::Mat disc;
  cv::warpAffine(swapped.learned_mask, disc, g->to_model, original.size(),
                 cv::INTER_LINEAR | cv::WARP_INVERSE_MAP);
  int changed = 0;
  for (int y = 0; y < frame.rows; ++y) {
    for (int x = 0; x < frame.cols; ++x) {
      const bool same = frame.at<cv::Vec3b>(y, x) == original.at<cv::Vec3b>(y, x);
      if (disc.at<float>(y, x) <= 0.5f) {
        ASSERT_TRUE(same) << "pixel " << x << "," << y << " outside the learned mask changed";
      } else if (!same) {
        ++changed;
      }
    }
  }
  EXPECT_GT(changed, 1000);
  // The centre is the face's colour exactly (alpha 1 there).
  const cv::Vec3b centre = frame.at<cv::Vec3b>(100, 120);
  EXPECT_NEAR(centre[0], 230, 1);
  EXPECT_NEAR(centre[1], 26, 1);
}

TEST(CompositeTest, UnsharpSharpensEdgesAndLeavesFlatAreas) {
  cv::Mat image(20, 20, CV_32FC3, cv::Scalar(0.3, 0.3, 0.3));
  image.colRange(10, 20).setTo(cv::Scalar(0.7, 0.7, 0.7));
  UnsharpMask(&image, 1.5, 0.8);
  EXPECT_NEAR(image.at<cv::Vec3f>(10, 2)[0], 0.3f, 1e-4);  // flat: unchanged
  EXPECT_LT(image.at<cv::Vec3f>(10, 9)[0], 0.3f);          // dark side of the edge: darker
  EXPECT_GT(image.at<cv::Vec3f>(10, 10)[0], 0.7f);         // bright side: brighter
  EXPECT_FALSE(ParseSharpenMethod("blurry").ok());
  EXPECT_TRUE(ParseSharpenMethod("unsharp").ok());
}

}  // namespace
}  // namespace fsc::convert
