// Tests for the alignment maths: Umeyama's similarity, the mean face, the aligned crop and point
// transforms.
#include "core/face/alignment.h"

#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <opencv2/imgproc.hpp>
#include <random>

namespace fsc::face {
namespace {

using Points = std::vector<cv::Point2f>;

// A similarity as parameters, for building test data independently of the code under test.
struct Similarity {
  double scale, angle, tx, ty;
  cv::Point2f Apply(const cv::Point2f& p) const {
    const double c = scale * std::cos(angle), s = scale * std::sin(angle);
    return cv::Point2f(static_cast<float>(c * p.x - s * p.y + tx),
                       static_cast<float>(s * p.x + c * p.y + ty));
  }
  Points Apply(const Points& points) const {
    Points out;
    for (const auto& p : points) out.push_back(Apply(p));
    return out;
  }
};

Points RandomPoints(int n, std::mt19937& rng) {
  std::uniform_real_distribution<float> coord(-50.f, 150.f);
  Points points;
  for (int i = 0; i < n; ++i) points.emplace_back(coord(rng), coord(rng));
  return points;
}

double SumSquaredError(const cv::Mat& m, const Points& from, const Points& to) {
  double sse = 0;
  for (size_t i = 0; i < from.size(); ++i) {
    const double x = m.at<double>(0, 0) * from[i].x + m.at<double>(0, 1) * from[i].y +
                     m.at<double>(0, 2) - to[i].x;
    const double y = m.at<double>(1, 0) * from[i].x + m.at<double>(1, 1) * from[i].y +
                     m.at<double>(1, 2) - to[i].y;
    sse += x * x + y * y;
  }
  return sse;
}

// The least-squares proper similarity in closed form, via complex numbers (to = a * from + b
// with complex a can rotate and scale but never reflect): an independent reference.
cv::Mat ComplexLeastSquares(const Points& from, const Points& to) {
  using C = std::complex<double>;
  C mean_from, mean_to;
  for (size_t i = 0; i < from.size(); ++i) {
    mean_from += C(from[i].x, from[i].y);
    mean_to += C(to[i].x, to[i].y);
  }
  mean_from /= static_cast<double>(from.size());
  mean_to /= static_cast<double>(from.size());
  C num;
  double den = 0;
  for (size_t i = 0; i < from.size(); ++i) {
    const C a = C(from[i].x, from[i].y) - mean_from;
    const C b = C(to[i].x, to[i].y) - mean_to;
    num += std::conj(a) * b;
    den += std::norm(a);
  }
  const C a = num / den;
  const C b = mean_to - a * mean_from;
  return (cv::Mat_<double>(2, 3) << a.real(), -a.imag(), b.real(), a.imag(), a.real(), b.imag());
}

// The mean face placed in a frame: a realistic 68-point face for tests.
Points PlacedMeanFace(const Similarity& placement) { return placement.Apply(MeanFace68()); }

TEST(UmeyamaSimilarityTest, RecoversKnownSimilarityExactly) {
  std::mt19937 rng(7);
  for (const Similarity& truth : {Similarity{1.7, 0.6, 12, -5}, Similarity{0.05, -2.9, 300, 40},
                                  Similarity{3.0, M_PI, -7, 0.5}, Similarity{1, 0, 0, 0}}) {
    const Points from = RandomPoints(20, rng);
    const Points to = truth.Apply(from);
    auto m = UmeyamaSimilarity(from, to);
    ASSERT_TRUE(m.ok()) << m.status();
    ASSERT_EQ(m->type(), CV_64F);
    ASSERT_EQ(m->size(), cv::Size(3, 2));
    const double c = truth.scale * std::cos(truth.angle), s = truth.scale * std::sin(truth.angle);
    const double tol = 1e-5 * std::max(1.0, truth.scale);
    EXPECT_NEAR(m->at<double>(0, 0), c, tol);
    EXPECT_NEAR(m->at<double>(0, 1), -s, tol);
    EXPECT_NEAR(m->at<double>(1, 0), s, tol);
    EXPECT_NEAR(m->at<double>(1, 1), c, tol);
    EXPECT_NEAR(m->at<double>(0, 2), truth.tx, 1e-3);
    EXPECT_NEAR(m->at<double>(1, 2), truth.ty, 1e-3);
  }
}

TEST(UmeyamaSimilarityTest, TwoPointsDetermineTheTransform) {
  const Points from = {{0, 0}, {10, 0}};
  const Points to = {{5, 5}, {5, 25}};  // rotated 90 degrees, scaled 2, shifted
  auto m = UmeyamaSimilarity(from, to);
  ASSERT_TRUE(m.ok()) << m.status();
  const Points mapped = TransformPoints(*m, from);
  for (int i = 0; i < 2; ++i) {
    EXPECT_NEAR(mapped[i].x, to[i].x, 1e-4);
    EXPECT_NEAR(mapped[i].y, to[i].y, 1e-4);
  }
}

TEST(UmeyamaSimilarityTest, IsTheLeastSquaresOptimumWithNoise) {
  std::mt19937 rng(11);
  std::normal_distribution<float> noise(0.f, 3.f);
  const Points from = RandomPoints(51, rng);
  Points to = Similarity{0.8, 1.1, 40, 25}.Apply(from);
  for (auto& p : to) p += cv::Point2f(noise(rng), noise(rng));

  auto m = UmeyamaSimilarity(from, to);
  ASSERT_TRUE(m.ok()) << m.status();
  const cv::Mat reference = ComplexLeastSquares(from, to);
  EXPECT_LT(cv::norm(*m, reference, cv::NORM_INF), 1e-6) << *m << "\n" << reference;

  // No nearby similarity fits better: nudge scale, angle and translation both ways.
  const double best = SumSquaredError(*m, from, to);
  const double a = m->at<double>(0, 0), b = m->at<double>(1, 0);
  for (double step : {-1e-3, 1e-3}) {
    for (int param = 0; param < 4; ++param) {
      cv::Mat nudged = m->clone();
      double na = a, nb = b;
      if (param == 0) na = a * (1 + step), nb = b * (1 + step);  // scale
      if (param == 1) na = a - b * step, nb = b + a * step;      // angle
      nudged.at<double>(0, 0) = na, nudged.at<double>(1, 1) = na;
      nudged.at<double>(1, 0) = nb, nudged.at<double>(0, 1) = -nb;
      if (param == 2) nudged.at<double>(0, 2) += step * 100;  // x shift
      if (param == 3) nudged.at<double>(1, 2) += step * 100;  // y shift
      EXPECT_GT(SumSquaredError(nudged, from, to), best) << "param " << param << " step " << step;
    }
  }
}

TEST(UmeyamaSimilarityTest, NeverProducesAReflection) {
  std::mt19937 rng(3);
  const Points from = RandomPoints(30, rng);
  Points mirrored;
  for (const auto& p : from) mirrored.emplace_back(-p.x + 10, p.y);  // a pure reflection
  auto m = UmeyamaSimilarity(from, mirrored);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_GT(cv::determinant(m->colRange(0, 2)), 0.0);
  // And it is still the best proper similarity for that data.
  EXPECT_LT(cv::norm(*m, ComplexLeastSquares(from, mirrored), cv::NORM_INF), 1e-6);
}

TEST(UmeyamaSimilarityTest, RefusesBadInput) {
  const Points three = {{0, 0}, {1, 0}, {0, 1}};
  const Points two = {{0, 0}, {1, 0}};
  EXPECT_EQ(UmeyamaSimilarity(three, two).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(UmeyamaSimilarity({}, {}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(UmeyamaSimilarity({{1, 1}}, {{2, 2}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  const Points same = {{4, 4}, {4, 4}, {4, 4}};
  EXPECT_EQ(UmeyamaSimilarity(same, three).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(UmeyamaSimilarity(three, same).status().code(), absl::StatusCode::kInvalidArgument);
  const Points with_nan = {{0, 0}, {NAN, 0}, {0, 1}};
  EXPECT_EQ(UmeyamaSimilarity(with_nan, three).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(MeanFaceTest, HasSixtyEightSymmetricPointsAroundTheUnitSquare) {
  const Points& mean = MeanFace68();
  ASSERT_EQ(mean.size(), 68u);
  // Faceswap's inner points fill the unit square; the jaw hangs a little outside it.
  for (int i = 17; i < 68; ++i) {
    EXPECT_GE(mean[i].x, 0.f);
    EXPECT_LE(mean[i].x, 1.f);
    EXPECT_GE(mean[i].y, 0.f);
    EXPECT_LE(mean[i].y, 1.f);
  }
  // Jaw: symmetric about x = 0.5, chin (8) lowest, below the lower lip (57).
  for (int i = 0; i < 17; ++i) {
    EXPECT_NEAR(mean[i].x, 1.f - mean[16 - i].x, 1e-5f) << i;
    EXPECT_NEAR(mean[i].y, mean[16 - i].y, 1e-5f) << i;
    EXPECT_LE(mean[i].y, mean[8].y);
  }
  EXPECT_GT(mean[8].y, mean[57].y + 0.1f);
  // iBUG order: the right eye (36..41) is left of the left eye (42..47) in the image.
  EXPECT_LT(mean[36].x, mean[45].x);
  EXPECT_LT(mean[19].y, mean[37].y);  // brows above eyes (y grows downwards)
}

TEST(AlignFaceTest, MapsTheMeanFaceWhereExpected) {
  const int kSize = 256;
  const double kPadding = 0.25;
  const Points face = PlacedMeanFace({300, 0.3, 400, 200});
  cv::Mat image(900, 900, CV_8UC3, cv::Scalar(90, 120, 150));
  auto aligned = AlignFace(image, face, kSize, kPadding);
  ASSERT_TRUE(aligned.ok()) << aligned.status();
  EXPECT_EQ(aligned->image.size(), cv::Size(kSize, kSize));
  EXPECT_EQ(aligned->image.type(), CV_8UC3);
  ASSERT_EQ(aligned->aligned_landmarks.size(), 68u);

  // The mean face scaled into the inner square (size less padding on each side), moved by one
  // common shift: the face centring. It is vertical (a frontal face) and moves the face down so
  // the forehead fits.
  const double inner = kSize * (1 - 2 * kPadding), pad = kSize * kPadding;
  const cv::Point2f expected0(MeanFace68()[17].x * inner + pad, MeanFace68()[17].y * inner + pad);
  const cv::Point2f shift = aligned->aligned_landmarks[17] - expected0;
  for (int i = 17; i < 68; ++i) {
    const cv::Point2f expected(MeanFace68()[i].x * inner + pad + shift.x,
                               MeanFace68()[i].y * inner + pad + shift.y);
    EXPECT_NEAR(aligned->aligned_landmarks[i].x, expected.x, 1e-2) << i;
    EXPECT_NEAR(aligned->aligned_landmarks[i].y, expected.y, 1e-2) << i;
  }
  EXPECT_NEAR(shift.x, 0.0, 0.01 * inner);
  EXPECT_GT(shift.y, 0.05 * inner);
  EXPECT_LT(shift.y, 0.3 * inner);
  // The whole face, jaw included, lies inside the crop.
  for (const auto& p : aligned->aligned_landmarks) {
    EXPECT_TRUE(cv::Rect2f(0, 0, kSize, kSize).contains(p)) << p;
  }
  // The transform is what produced the aligned landmarks.
  const Points again = TransformPoints(aligned->transform, face);
  for (int i = 0; i < 68; ++i) EXPECT_LT(cv::norm(again[i] - aligned->aligned_landmarks[i]), 1e-3);
}

TEST(AlignFaceTest, IsInvariantToWhereTheFaceIsInTheImage) {
  const cv::Mat image(600, 600, CV_8UC3, cv::Scalar::all(0));
  auto a = AlignFace(image, PlacedMeanFace({200, 0.0, 100, 100}), 128);
  auto b = AlignFace(image, PlacedMeanFace({90, -0.7, 300, 250}), 128);
  ASSERT_TRUE(a.ok() && b.ok());
  for (int i = 0; i < 68; ++i) {
    EXPECT_LT(cv::norm(a->aligned_landmarks[i] - b->aligned_landmarks[i]), 0.05) << i;
  }
}

// The crop's pixels follow the transform: a bright dot on the nose tip lands on the aligned nose
// tip, whether the face is enlarged (cubic warp) or shrunk a lot (supersampled warp).
TEST(AlignFaceTest, CropPixelsFollowTheTransform) {
  for (double face_size : {60.0, 1500.0}) {
    const Points face = PlacedMeanFace({face_size, 0.2, face_size * 0.4, face_size * 0.3});
    cv::Mat image(static_cast<int>(face_size * 1.8), static_cast<int>(face_size * 1.8), CV_8UC3,
                  cv::Scalar::all(0));
    const int radius = std::max(2, static_cast<int>(face_size / 40));
    cv::circle(image, face[30], radius, cv::Scalar(255, 255, 255), cv::FILLED);
    auto aligned = AlignFace(image, face, 128);
    ASSERT_TRUE(aligned.ok()) << aligned.status();
    cv::Mat grey;
    cv::cvtColor(aligned->image, grey, cv::COLOR_BGR2GRAY);
    const cv::Moments moments = cv::moments(grey);
    ASSERT_GT(moments.m00, 0);
    const cv::Point2f centroid(moments.m10 / moments.m00, moments.m01 / moments.m00);
    EXPECT_LT(cv::norm(centroid - aligned->aligned_landmarks[30]), 0.5)
        << "face size " << face_size << " centroid " << centroid << " nose "
        << aligned->aligned_landmarks[30];
  }
}

TEST(AlignFaceTest, AcceptsGreyAndBgraImages) {
  const Points face = PlacedMeanFace({100, 0, 50, 50});
  for (int type : {CV_8UC1, CV_8UC4, CV_16UC3}) {
    cv::Mat image(200, 200, type, cv::Scalar::all(100));
    auto aligned = AlignFace(image, face, 64);
    ASSERT_TRUE(aligned.ok()) << aligned.status();
    EXPECT_EQ(aligned->image.type(), CV_8UC3);
  }
}

TEST(AlignFaceTest, RefusesBadInput) {
  const cv::Mat image(100, 100, CV_8UC3, cv::Scalar::all(0));
  const Points face = PlacedMeanFace({50, 0, 20, 20});
  EXPECT_EQ(AlignFace(cv::Mat(), face, 64).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AlignFace(image, Points(face.begin(), face.end() - 1), 64).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AlignFace(image, face, 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AlignFace(image, face, 64, 0.5).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AlignFace(image, face, 64, -0.1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AlignFace(image, Points(68, cv::Point2f(5, 5)), 64).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AlignFace(cv::Mat(10, 10, CV_32FC3), face, 64).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TransformPointsTest, RoundTripsThroughTheInverse) {
  std::mt19937 rng(5);
  const Points points = RandomPoints(40, rng);
  const cv::Mat m = (cv::Mat_<double>(2, 3) << 1.3, -0.4, 17.5, 0.4, 1.3, -3.25);
  cv::Mat inverse;
  cv::invertAffineTransform(m, inverse);
  const Points there = TransformPoints(m, points);
  const Points back = TransformPoints(inverse, there);
  for (size_t i = 0; i < points.size(); ++i) {
    EXPECT_NEAR(there[i].x, 1.3 * points[i].x - 0.4 * points[i].y + 17.5, 1e-3);
    EXPECT_NEAR(there[i].y, 0.4 * points[i].x + 1.3 * points[i].y - 3.25, 1e-3);
    EXPECT_NEAR(back[i].x, points[i].x, 1e-3);
    EXPECT_NEAR(back[i].y, points[i].y, 1e-3);
  }
  // Single precision transforms work the same.
  cv::Mat m32;
  m.convertTo(m32, CV_32F);
  const Points there32 = TransformPoints(m32, points);
  for (size_t i = 0; i < points.size(); ++i) EXPECT_LT(cv::norm(there32[i] - there[i]), 1e-3);
}

TEST(LandmarkPointsTest, RoundTripExactlyAndReplaceWhatWasThere) {
  const Points landmarks = MeanFace68();
  proto::Face face;
  face.add_landmarks()->set_x(-7);  // stale: must not survive
  SetLandmarkPoints(landmarks, face.mutable_landmarks());
  ASSERT_EQ(face.landmarks_size(), 68);
  EXPECT_EQ(face.landmarks(30).x(), landmarks[30].x);
  EXPECT_EQ(face.landmarks(30).y(), landmarks[30].y);
  EXPECT_EQ(LandmarksFromPoints(face.landmarks()), landmarks);
  SetLandmarkPoints({}, face.mutable_landmarks());
  EXPECT_EQ(face.landmarks_size(), 0);
  EXPECT_TRUE(LandmarksFromPoints(face.landmarks()).empty());
}

}  // namespace
}  // namespace fsc::face
