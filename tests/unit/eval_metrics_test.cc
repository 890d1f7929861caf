// Tests for fsc eval's metrics on synthetic cases with known answers: head pose from a projected
// 3D head with a known rotation, NME of similar and deformed shapes, jitter of known shifts,
// flicker of a frame against itself and of known brightness changes, the seam of a hard-edged
// paste, identity distances and summaries.
#include <gtest/gtest.h>

#include <cmath>
#include <opencv2/imgproc.hpp>

#include "core/eval/flicker.h"
#include "core/eval/identity.h"
#include "core/eval/jitter.h"
#include "core/eval/landmark_errors.h"
#include "core/eval/seam.h"
#include "core/eval/stats.h"
#include "core/face/alignment.h"
#include "core/face/head_pose.h"

namespace fsc::eval {
namespace {

const cv::Size kFrame(720, 528);

// 68 landmarks whose 26 pose points are the 3D head posed by (yaw, pitch, roll) at `translation`
// and projected through the frame camera; the other 42 points sit at the centroid (the pose
// solver does not read them).
face::Landmarks PosedLandmarks(double yaw, double pitch, double roll,
                               cv::Vec3d translation = {4, -3, 60}) {
  const std::vector<cv::Point2f> projected = face::ProjectHeadModel(
      face::RotationFromAngles(yaw, pitch, roll), translation, face::FrameCamera(kFrame));
  cv::Point2f centre(0, 0);
  for (const cv::Point2f& p : projected) centre += p;
  centre *= 1.0f / projected.size();
  face::Landmarks landmarks(68, centre);
  for (size_t i = 0; i < projected.size(); ++i) {
    landmarks[face::kHeadModelLandmarks[i]] = projected[i];
  }
  return landmarks;
}

// The mean face scaled into a frame: a realistic 68-point shape.
face::Landmarks FaceShape(double size = 120, cv::Point2f at = {300, 200}) {
  face::Landmarks shape = face::MeanFace68();
  for (cv::Point2f& p : shape) p = at + p * static_cast<float>(size);
  return shape;
}

face::Landmarks Moved(face::Landmarks shape, cv::Point2f by) {
  for (cv::Point2f& p : shape) p += by;
  return shape;
}

TEST(EvalHeadPoseTest, RecoversAKnownRotation) {
  for (const cv::Vec3d& angles :
       {cv::Vec3d(0, 0, 0), cv::Vec3d(20, -10, 5), cv::Vec3d(-35, 15, -12), cv::Vec3d(5, 25, 30)}) {
    auto pose = face::EstimateHeadPose(PosedLandmarks(angles[0], angles[1], angles[2]),
                                       face::FrameCamera(kFrame));
    ASSERT_TRUE(pose.ok()) << pose.status();
    EXPECT_NEAR(pose->yaw, angles[0], 0.05) << angles;
    EXPECT_NEAR(pose->pitch, angles[1], 0.05) << angles;
    EXPECT_NEAR(pose->roll, angles[2], 0.05) << angles;
    EXPECT_LT(pose->reprojection_px, 0.01);
  }
}

TEST(EvalHeadPoseTest, SignsFollowTheImage) {
  // yaw > 0: the nose turns towards the image's left of the eyes' midpoint.
  const face::Landmarks turned = PosedLandmarks(30, 0, 0);
  EXPECT_LT(turned[33].x, (turned[36].x + turned[45].x) / 2);
  // roll > 0: clockwise in the image (y down), so the subject's left eye (45) sits lower.
  const face::Landmarks rolled = PosedLandmarks(0, 0, 20);
  EXPECT_GT(rolled[45].y, rolled[36].y);
  // An in-plane rotation of real landmarks changes roll by that angle, not yaw or pitch.
  const face::Landmarks shape = FaceShape(150, {280, 180});
  const cv::Mat spin = cv::getRotationMatrix2D({355, 255}, -15, 1.0);  // 15 deg clockwise
  auto upright = face::EstimateHeadPose(shape, face::FrameCamera(kFrame));
  auto spun = face::EstimateHeadPose(face::TransformPoints(spin, shape), face::FrameCamera(kFrame));
  ASSERT_TRUE(upright.ok() && spun.ok());
  const PoseError e = ComparePoses(*upright, *spun);
  EXPECT_NEAR(e.roll, 15, 0.5);
  EXPECT_NEAR(e.rotation, 15, 0.5);
}

TEST(EvalHeadPoseTest, ErrorBetweenKnownPoses) {
  const cv::Matx33d camera = face::FrameCamera(kFrame);
  auto a = face::EstimateHeadPose(PosedLandmarks(10, 0, 0), camera);
  auto b = face::EstimateHeadPose(PosedLandmarks(25, 0, 0), camera);
  ASSERT_TRUE(a.ok() && b.ok());
  PoseError e = ComparePoses(*a, *b);
  EXPECT_NEAR(e.yaw, 15, 0.05);
  EXPECT_NEAR(e.pitch, 0, 0.05);
  EXPECT_NEAR(e.roll, 0, 0.05);
  EXPECT_NEAR(e.rotation, 15, 0.05);
  e = ComparePoses(*a, *a);
  EXPECT_EQ(e.yaw + e.pitch + e.roll, 0);
  EXPECT_NEAR(e.rotation, 0, 1e-6);
  // Angles wrap the short way round.
  face::HeadPose p, q;
  p.roll = 179;
  q.roll = -179;
  EXPECT_NEAR(ComparePoses(p, q).roll, 2, 1e-9);
}

TEST(EvalHeadPoseTest, RefusesBadLandmarks) {
  const cv::Matx33d camera = face::FrameCamera(kFrame);
  EXPECT_FALSE(face::EstimateHeadPose(face::Landmarks(5, {1, 1}), camera).ok());
  EXPECT_FALSE(face::EstimateHeadPose(face::Landmarks(68, {10, 10}), camera).ok());
  face::Landmarks nan = FaceShape();
  nan[36].x = NAN;
  EXPECT_FALSE(face::EstimateHeadPose(nan, camera).ok());
}

TEST(EvalExpressionTest, SimilarShapesHaveNoError) {
  const face::Landmarks shape = FaceShape();
  auto same = AlignedNme(shape, shape);
  ASSERT_TRUE(same.ok());
  EXPECT_NEAR(*same, 0, 1e-6);
  // Rotated, scaled and moved: still the same expression.
  const cv::Mat similarity = cv::getRotationMatrix2D({100, 50}, 23, 1.7);
  auto moved = AlignedNme(shape, face::TransformPoints(similarity, shape));
  ASSERT_TRUE(moved.ok());
  EXPECT_NEAR(*moved, 0, 1e-5);
}

TEST(EvalExpressionTest, AnOpenMouthScoresItsSize) {
  const face::Landmarks shape = FaceShape();
  const double iod = InterOcular(shape);
  auto open = [&](float d) {
    face::Landmarks mouth = shape;
    for (int i = 57; i <= 59; ++i) mouth[i].y += d;  // lower lip down
    for (int i = 65; i <= 67; ++i) mouth[i].y += d;
    mouth[8].y += d;  // and the chin with it
    return *AlignedNme(shape, mouth);
  };
  const double small = open(2), big = open(4);
  // 7 of 68 points moved by d = 2 px. The least-squares fit shifts every point by part of that,
  // so the mean error lands between the unaligned mean (7 d / 68) and twice it.
  const double unaligned = 7 * 2.0 / 68 / iod;
  EXPECT_GT(small, unaligned);
  EXPECT_LT(small, 2 * unaligned);
  EXPECT_NEAR(big / small, 2.0, 0.02);  // first order in the displacement
  EXPECT_FALSE(AlignedNme(shape, face::Landmarks(10)).ok());
}

TEST(EvalJitterTest, RestAndConstantSpeedDoNotJitter) {
  const face::Landmarks shape = FaceShape();
  std::vector<face::Landmarks> still(10, shape), moving;
  for (int t = 0; t < 10; ++t) moving.push_back(Moved(shape, {3.0f * t, -1.5f * t}));
  const JitterFigures a = MeasureJitter({still}), b = MeasureJitter({moving});
  EXPECT_EQ(a.triples, 8);
  EXPECT_EQ(a.jitter, 0);
  EXPECT_NEAR(b.jitter, 0, 1e-6);
}

TEST(EvalJitterTest, KnownShifts) {
  const face::Landmarks shape = FaceShape();
  const double iod = InterOcular(shape);
  const float s = 2.0f;
  // +-s every frame: every second difference is 4s.
  std::vector<face::Landmarks> alternating;
  for (int t = 0; t < 12; ++t) alternating.push_back(Moved(shape, {t % 2 ? s : -s, 0}));
  EXPECT_NEAR(MeasureJitter({alternating}).jitter, 4 * s / iod, 1e-6);
  // One frame (5 of 10) jumps by s and back: s, 2s, s over 8 triples.
  std::vector<face::Landmarks> jump(10, shape);
  jump[5] = Moved(shape, {0, s});
  const JitterFigures j = MeasureJitter({jump});
  EXPECT_EQ(j.triples, 8);
  EXPECT_NEAR(j.jitter, std::sqrt(6.0 * s * s / (iod * iod) / 8), 1e-6);
  // Scale-free: the same relative shake of a face twice the size scores the same.
  std::vector<face::Landmarks> big(10, FaceShape(240));
  big[5] = Moved(big[5], {0, 2 * s});
  EXPECT_NEAR(MeasureJitter({big}).jitter, j.jitter, 1e-6);
}

TEST(EvalJitterTest, LinkTracksFollowsOverlappingBoxes) {
  // Two faces side by side for 5 frames, one drifting; a gap at frame 5; then one face again.
  std::vector<FrameFace> faces;
  for (int t = 0; t < 5; ++t) {
    faces.push_back({t, cv::Rect2f(10 + 2 * t, 10, 100, 100)});
    faces.push_back({t, cv::Rect2f(400, 50, 80, 80)});
  }
  faces.push_back({6, cv::Rect2f(20, 10, 100, 100)});
  faces.push_back({7, cv::Rect2f(22, 10, 100, 100)});
  const std::vector<std::vector<int>> tracks = LinkTracks(faces);
  ASSERT_EQ(tracks.size(), 3u);
  EXPECT_EQ(tracks[0], (std::vector<int>{0, 2, 4, 6, 8}));
  EXPECT_EQ(tracks[1], (std::vector<int>{1, 3, 5, 7, 9}));
  EXPECT_EQ(tracks[2], (std::vector<int>{10, 11}));
}

// A textured frame (smooth ramps, so every patch differs).
cv::Mat Texture(int shift = 0) {
  cv::Mat frame(kFrame, CV_8UC3);
  for (int y = 0; y < frame.rows; ++y) {
    for (int x = 0; x < frame.cols; ++x) {
      frame.at<cv::Vec3b>(y, x) =
          cv::Vec3b((x + shift) % 200 + 20, (y * 2) % 180 + 30, ((x + shift + y) / 3) % 150 + 50);
    }
  }
  return frame;
}

cv::Mat Disc(cv::Rect roi, cv::Point centre, int radius) {
  cv::Mat mask = cv::Mat::zeros(roi.size(), CV_8UC1);
  cv::circle(mask, centre - roi.tl(), radius, cv::Scalar(255), cv::FILLED);
  return mask;
}

TEST(EvalFlickerTest, AFrameAgainstItselfAddsNothing) {
  const cv::Mat a = Texture(0), b = Texture(3);
  const cv::Rect roi(200, 100, 200, 200);
  const cv::Mat mask = Disc(roi, {300, 200}, 80);
  const FlickerSample s = MeasureFlicker(a, b, a, b, mask, roi);
  EXPECT_EQ(s.pixels, cv::countNonZero(mask));
  EXPECT_GT(s.source_mean(), 0);
  EXPECT_EQ(s.swapped, s.source);
  EXPECT_EQ(FlickerRatio(s), 1.0);
}

TEST(EvalFlickerTest, KnownBrightnessSteps) {
  const cv::Mat a = Texture(0);
  const cv::Mat brighter10 = a + cv::Scalar::all(10), brighter20 = a + cv::Scalar::all(20);
  const cv::Rect roi(200, 100, 200, 200);
  const cv::Mat mask = Disc(roi, {300, 200}, 80);
  // The source brightens by 10 levels, the swap by 20: twice the flicker.
  FlickerSample s = MeasureFlicker(a, brighter10, a, brighter20, mask, roi);
  EXPECT_NEAR(s.source_mean(), 10, 1e-9);
  EXPECT_NEAR(s.swapped_mean(), 20, 1e-9);
  EXPECT_NEAR(FlickerRatio(s), 2.0, 1e-9);
  // A frozen swap on a changing source: no flicker at all.
  s = MeasureFlicker(a, brighter10, a, a, mask, roi);
  EXPECT_EQ(FlickerRatio(s), 0.0);
  // Nothing changes anywhere: no ratio.
  EXPECT_TRUE(std::isnan(FlickerRatio(MeasureFlicker(a, a, a, a, mask, roi))));
  // Sums add up.
  FlickerSample total = MeasureFlicker(a, brighter10, a, brighter20, mask, roi);
  total += MeasureFlicker(a, brighter10, a, brighter10, mask, roi);
  EXPECT_NEAR(FlickerRatio(total), 1.5, 1e-9);
}

double DeltaE(cv::Vec3b a, cv::Vec3b b) {
  cv::Mat pixels(1, 2, CV_8UC3), scaled, lab;
  pixels.at<cv::Vec3b>(0, 0) = a;
  pixels.at<cv::Vec3b>(0, 1) = b;
  pixels.convertTo(scaled, CV_32FC3, 1.0 / 255);
  cv::cvtColor(scaled, lab, cv::COLOR_BGR2Lab);
  return cv::norm(lab.at<cv::Vec3f>(0, 0) - lab.at<cv::Vec3f>(0, 1));
}

TEST(EvalSeamTest, AFrameAgainstItselfHasNoSeam) {
  const cv::Mat frame = Texture(0);
  const cv::Rect roi(200, 100, 220, 220);
  const cv::Mat mask = Disc(roi, {310, 210}, 90);
  const SeamSample s = MeasureSeam(frame, frame, mask, roi, 6);
  EXPECT_GT(s.points, 50);
  EXPECT_GT(s.band_pixels, 1000);
  EXPECT_EQ(s.color_step_swapped, s.color_step_source);
  EXPECT_EQ(s.gradient_swapped, s.gradient_source);
}

TEST(EvalSeamTest, AHardEdgedPasteShowsItsColourStep) {
  const cv::Vec3b outside(90, 120, 150), inside(60, 140, 200);
  const cv::Mat source(kFrame, CV_8UC3, cv::Scalar(outside[0], outside[1], outside[2]));
  const cv::Rect roi(200, 100, 220, 220);
  const cv::Mat mask = Disc(roi, {310, 210}, 90);
  cv::Mat pasted = source.clone();
  pasted(roi).setTo(cv::Scalar(inside[0], inside[1], inside[2]), mask);
  const SeamSample hard = MeasureSeam(source, pasted, mask, roi, 6);
  ASSERT_GT(hard.points, 50);
  EXPECT_NEAR(hard.color_step_source_mean(), 0, 1e-4);
  EXPECT_NEAR(hard.color_step_swapped_mean(), DeltaE(outside, inside), 0.02);
  EXPECT_NEAR(hard.gradient_source_mean(), 0, 1e-6);
  EXPECT_GT(hard.gradient_swapped_mean(), 0.5);

  // The same paste feathered over the band keeps its colour step but not its hard edge.
  cv::Mat alpha;
  cv::Mat full = cv::Mat::zeros(kFrame, CV_8UC1);
  mask.copyTo(full(roi));
  cv::GaussianBlur(full, alpha, {0, 0}, 2.0);
  cv::Mat feathered(kFrame, CV_8UC3);
  for (int y = 0; y < feathered.rows; ++y) {
    for (int x = 0; x < feathered.cols; ++x) {
      const float w = alpha.at<uchar>(y, x) / 255.0f;
      for (int c = 0; c < 3; ++c) {
        feathered.at<cv::Vec3b>(y, x)[c] =
            cv::saturate_cast<uchar>(outside[c] + w * (inside[c] - outside[c]));
      }
    }
  }
  const SeamSample soft = MeasureSeam(source, feathered, mask, roi, 6);
  // (within 3 %: the feather's tails reach a little past the samples 6 px either side)
  EXPECT_NEAR(soft.color_step_swapped_mean(), DeltaE(outside, inside),
              0.03 * DeltaE(outside, inside));
  EXPECT_LT(soft.gradient_swapped_mean(), hard.gradient_swapped_mean());
}

TEST(EvalIdentityTest, DistancesAndRetrieval) {
  const face::Descriptor b = {1, 0, 0}, a = {0, 1, 0};
  EXPECT_EQ(MeanDescriptor({{1, 2, 3}, {3, 2, 1}}), (face::Descriptor{2, 2, 2}));
  EXPECT_TRUE(MeanDescriptor({}).empty());
  // A perfect swap: the swapped face is B.
  IdentitySample s = CompareIdentity(b, a, a, b);
  EXPECT_EQ(s.to_b, 0);
  EXPECT_NEAR(s.to_a, std::sqrt(2.0), 1e-6);
  EXPECT_NEAR(s.to_source, std::sqrt(2.0), 1e-6);
  EXPECT_NEAR(s.source_to_b, std::sqrt(2.0), 1e-6);
  EXPECT_TRUE(s.retrieved);
  // No swap at all: the swapped face is the source face.
  s = CompareIdentity(a, a, a, b);
  EXPECT_EQ(s.to_source, 0);
  EXPECT_FALSE(s.retrieved);
  // A face like nobody, as far from both means: not retrieved (ties go to A).
  s = CompareIdentity({0, 0, 1}, a, a, b);
  EXPECT_FALSE(s.retrieved);
  // Without B: only the A side is measured.
  s = CompareIdentity(b, a, a, {});
  EXPECT_TRUE(std::isnan(s.to_b));
  EXPECT_NEAR(s.to_a, std::sqrt(2.0), 1e-6);
  EXPECT_FALSE(s.retrieved);
  EXPECT_NEAR(Spread({a, b}, MeanDescriptor({a, b})), std::sqrt(0.5), 1e-6);
}

TEST(EvalStatsTest, SummaryAndHistogram) {
  std::vector<double> v;
  for (int i = 1; i <= 10; ++i) v.push_back(i);
  v.push_back(NAN);
  const Summary s = Summarize(v);
  EXPECT_EQ(s.count, 10);
  EXPECT_DOUBLE_EQ(s.mean, 5.5);
  EXPECT_DOUBLE_EQ(s.median, 5.5);
  EXPECT_NEAR(s.p90, 9.1, 1e-12);
  EXPECT_EQ(s.min, 1);
  EXPECT_EQ(s.max, 10);
  EXPECT_EQ(Summarize({}).count, 0);
  const Histogram h = MakeHistogram({-1, 0.05, 0.15, 0.15, 5}, 0, 0.3, 3);
  EXPECT_EQ(h.counts, (std::vector<int64_t>{2, 2, 1}));
}

}  // namespace
}  // namespace fsc::eval
