// Tests for the landmark masks: names, the hull's area, components inside the hull, extended
// reaching above the brows, and binary output.
#include "core/face/mask.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "core/face/alignment.h"

namespace fsc::face {
namespace {

constexpr int kSize = 256;

// A realistic face: the 68-point mean face, 180 px wide, placed inside a 256 px square.
Landmarks TestFace(cv::Point2f offset = {38, 20}) {
  Landmarks points;
  for (const cv::Point2f& p : MeanFace68()) points.push_back(p * 180.f + offset);
  return points;
}

bool IsBinary(const cv::Mat& mask) {
  cv::Mat other = (mask != 0) & (mask != 255);
  return cv::countNonZero(other) == 0;
}

// Pixels with row < `row`.
int CountAbove(const cv::Mat& mask, int row) {
  return row <= 0 ? 0 : cv::countNonZero(mask.rowRange(0, std::min(row, mask.rows)));
}

TEST(MaskTypeTest, NamesRoundTrip) {
  for (MaskType type : {MaskType::kHull, MaskType::kComponents, MaskType::kExtended}) {
    auto parsed = ParseMaskType(MaskTypeName(type));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, type);
  }
  EXPECT_EQ(MaskTypeName(MaskType::kHull), "hull");
  EXPECT_EQ(MaskTypeName(MaskType::kComponents), "components");
  EXPECT_EQ(MaskTypeName(MaskType::kExtended), "extended");
  EXPECT_EQ(*ParseMaskType("Extended"), MaskType::kExtended);
  auto bad = ParseMaskType("vgg-clear");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("vgg-clear"), std::string::npos);
  EXPECT_EQ(ParseMaskType("").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(BuildLandmarkMaskTest, AllMasksAreBinaryAndSized) {
  const cv::Size size(kSize, kSize + 20);
  for (MaskType type : {MaskType::kHull, MaskType::kComponents, MaskType::kExtended}) {
    const cv::Mat mask = BuildLandmarkMask(TestFace(), size, type);
    ASSERT_FALSE(mask.empty()) << MaskTypeName(type);
    EXPECT_EQ(mask.type(), CV_8UC1);
    EXPECT_EQ(mask.size(), size);
    EXPECT_TRUE(IsBinary(mask)) << MaskTypeName(type);
    EXPECT_GT(cv::countNonZero(mask), 0.3 * kSize * kSize) << MaskTypeName(type);
    EXPECT_LT(cv::countNonZero(mask), 0.9 * kSize * kSize) << MaskTypeName(type);
  }
}

TEST(BuildLandmarkMaskTest, HullAreaIsThePolygonArea) {
  const Landmarks face = TestFace();
  const cv::Mat mask = BuildLandmarkMask(face, {kSize, kSize}, MaskType::kHull);
  std::vector<cv::Point2f> hull;
  cv::convexHull(face, hull);
  const double area = cv::contourArea(hull);
  const double perimeter = cv::arcLength(hull, true);
  // OpenCV's filling includes the outline's pixels, so the mask is the polygon grown by about half
  // a pixel: its area is between the polygon's and the polygon's plus one pixel per unit of
  // perimeter.
  const int count = cv::countNonZero(mask);
  EXPECT_GE(count, area);
  EXPECT_LE(count, area + perimeter);
  // Every pixel well inside the hull is set, and none well outside.
  for (int y = 0; y < kSize; y += 3) {
    for (int x = 0; x < kSize; x += 3) {
      const double distance = cv::pointPolygonTest(hull, cv::Point2f(x, y), true);
      if (distance > 1.5) {
        EXPECT_EQ(mask.at<uchar>(y, x), 255) << x << "," << y;
      } else if (distance < -1.5) {
        EXPECT_EQ(mask.at<uchar>(y, x), 0) << x << "," << y;
      }
    }
  }
}

TEST(BuildLandmarkMaskTest, ComponentsLieInsideTheHull) {
  const Landmarks face = TestFace();
  const cv::Mat hull = BuildLandmarkMask(face, {kSize, kSize}, MaskType::kHull);
  const cv::Mat components = BuildLandmarkMask(face, {kSize, kSize}, MaskType::kComponents);
  cv::Mat grown;  // one pixel of slack for rasterising different outlines
  cv::dilate(hull, grown, cv::Mat::ones(3, 3, CV_8U));
  EXPECT_EQ(cv::countNonZero(components & ~grown), 0);
  // And they cover most of it: the parts tile the face.
  EXPECT_GT(cv::countNonZero(components), 0.9 * cv::countNonZero(hull));
}

TEST(BuildLandmarkMaskTest, ExtendedReachesAboveTheBrows) {
  const Landmarks face = TestFace();
  const cv::Mat components = BuildLandmarkMask(face, {kSize, kSize}, MaskType::kComponents);
  const cv::Mat extended = BuildLandmarkMask(face, {kSize, kSize}, MaskType::kExtended);
  float brow_top = kSize;
  for (int i = 17; i < 27; ++i) brow_top = std::min(brow_top, face[i].y);
  const int row = static_cast<int>(std::floor(brow_top));
  EXPECT_LE(CountAbove(components, row), kSize);  // at most a rounding row
  // The brows move up by half the brow-to-eye distance (about 0.1 of the face): a band of
  // forehead roughly 180 px wide and 10+ px high.
  EXPECT_GT(CountAbove(extended, row), 1000);
  // Below the top of the jaw line (0 and 16) extended keeps the components' shape.
  const int jaw_top = static_cast<int>(std::ceil(std::max(face[0].y, face[16].y))) + 1;
  cv::Mat below_c = components.rowRange(jaw_top, kSize),
          below_e = extended.rowRange(jaw_top, kSize);
  EXPECT_EQ(cv::countNonZero(below_c != below_e), 0);
  EXPECT_GT(cv::countNonZero(extended), cv::countNonZero(components));
}

TEST(BuildLandmarkMaskTest, FollowsTheLandmarksFrame) {
  const cv::Mat a = BuildLandmarkMask(TestFace({38, 20}), {kSize, kSize}, MaskType::kComponents);
  const cv::Mat b = BuildLandmarkMask(TestFace({30, 12}), {kSize, kSize}, MaskType::kComponents);
  // Shifting the landmarks by whole pixels shifts the mask by exactly as much.
  EXPECT_EQ(cv::countNonZero(a(cv::Rect(8, 8, kSize - 8, kSize - 8)) !=
                             b(cv::Rect(0, 0, kSize - 8, kSize - 8))),
            0);
  // A face partly outside the frame is clipped, not refused.
  const cv::Mat clipped = BuildLandmarkMask(TestFace({-100, -60}), {kSize, kSize}, MaskType::kHull);
  ASSERT_FALSE(clipped.empty());
  EXPECT_GT(cv::countNonZero(clipped), 0);
  EXPECT_LT(cv::countNonZero(clipped), cv::countNonZero(a));
}

TEST(BuildLandmarkMaskTest, BadInputGivesAnEmptyMask) {
  Landmarks short_face = TestFace();
  short_face.pop_back();
  EXPECT_TRUE(BuildLandmarkMask(short_face, {kSize, kSize}, MaskType::kHull).empty());
  EXPECT_TRUE(BuildLandmarkMask(TestFace(), {0, kSize}, MaskType::kHull).empty());
  Landmarks nan_face = TestFace();
  nan_face[5].x = NAN;
  EXPECT_TRUE(BuildLandmarkMask(nan_face, {kSize, kSize}, MaskType::kExtended).empty());
}

}  // namespace
}  // namespace fsc::face
