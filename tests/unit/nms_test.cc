// IoU and greedy non-maximum suppression (core/face/nms.h) on hand-made boxes whose overlaps are
// known exactly.
#include "core/face/nms.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fsc::face {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(IoU, KnownOverlaps) {
  const cv::Rect2f a(0, 0, 10, 10);
  EXPECT_FLOAT_EQ(IoU(a, a), 1.0f);
  // Half of `a` overlaps: intersection 50, union 150.
  EXPECT_FLOAT_EQ(IoU(a, cv::Rect2f(5, 0, 10, 10)), 50.0f / 150.0f);
  // Contained: 4 / 100.
  EXPECT_FLOAT_EQ(IoU(a, cv::Rect2f(2, 2, 2, 2)), 0.04f);
  // Touching edges and disjoint boxes do not overlap.
  EXPECT_FLOAT_EQ(IoU(a, cv::Rect2f(10, 0, 10, 10)), 0.0f);
  EXPECT_FLOAT_EQ(IoU(a, cv::Rect2f(20, 20, 5, 5)), 0.0f);
  // Degenerate boxes have no area (face-api's SSD IOU returns 0 too).
  EXPECT_FLOAT_EQ(IoU(a, cv::Rect2f(0, 0, 0, 10)), 0.0f);
  EXPECT_FLOAT_EQ(IoU(cv::Rect2f(0, 0, -5, 10), a), 0.0f);
  // Symmetric.
  const cv::Rect2f b(3, 4, 12, 7);
  EXPECT_FLOAT_EQ(IoU(a, b), IoU(b, a));
}

TEST(NonMaxSuppression, KeepsBestOfEachClusterInScoreOrder) {
  const std::vector<cv::Rect2f> boxes = {
      {0, 0, 10, 10},    // 0: cluster A
      {1, 0, 10, 10},    // 1: cluster A, IoU with 0 = 90/110
      {50, 50, 10, 10},  // 2: cluster B
      {52, 50, 10, 10},  // 3: cluster B, IoU with 2 = 80/120
      {100, 0, 10, 10},  // 4: alone
  };
  const std::vector<float> scores = {0.8f, 0.9f, 0.7f, 0.95f, 0.6f};
  EXPECT_THAT(NonMaxSuppression(boxes, scores, 0.5f, 0.5f, 100), ElementsAre(3, 1, 4));
}

TEST(NonMaxSuppression, ThresholdsAreStrict) {
  const std::vector<cv::Rect2f> boxes = {{0, 0, 10, 10}, {5, 0, 10, 10}};  // IoU exactly 1/3
  const std::vector<float> scores = {0.9f, 0.5f};
  // A score equal to the threshold is not a candidate (face-api: score > threshold).
  EXPECT_THAT(NonMaxSuppression(boxes, scores, 0.9f, 0.5f, 0), ElementsAre(0));
  // An IoU equal to the threshold does not suppress (face-api: suppress when IoU > threshold).
  EXPECT_THAT(NonMaxSuppression(boxes, scores, 1.0f / 3.0f, 0.4f, 0), ElementsAre(0, 1));
  EXPECT_THAT(NonMaxSuppression(boxes, scores, 0.3f, 0.4f, 0), ElementsAre(0));
}

TEST(NonMaxSuppression, SuppressedBoxesDoNotSuppressOthers) {
  // 1 overlaps 0 and 2; 0 and 2 do not overlap. 1 is suppressed by 0, so 2 survives.
  const std::vector<cv::Rect2f> boxes = {{0, 0, 10, 10}, {6, 0, 10, 10}, {12, 0, 10, 10}};
  const std::vector<float> scores = {0.9f, 0.8f, 0.7f};
  EXPECT_THAT(NonMaxSuppression(boxes, scores, 0.2f, 0.0f, 0), ElementsAre(0, 2));
}

TEST(NonMaxSuppression, MaxOutputsAndTies) {
  const std::vector<cv::Rect2f> boxes = {{0, 0, 1, 1}, {10, 0, 1, 1}, {20, 0, 1, 1}};
  const std::vector<float> scores = {0.7f, 0.7f, 0.9f};
  EXPECT_THAT(NonMaxSuppression(boxes, scores, 0.5f, 0.1f, 2), ElementsAre(2, 0));
  EXPECT_THAT(NonMaxSuppression(boxes, scores, 0.5f, 0.1f, 0), ElementsAre(2, 0, 1));
  EXPECT_THAT(NonMaxSuppression({}, {}, 0.5f, 0.1f, 10), IsEmpty());
  EXPECT_THAT(NonMaxSuppression(boxes, scores, 0.5f, 0.95f, 10), IsEmpty());
}

}  // namespace
}  // namespace fsc::face
