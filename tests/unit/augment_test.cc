// Tests for Faceswap's augmentation on real extracted faces: determinism by key, coverage crop,
// the warp touching only the input, flips that mirror landmarks with the right index swaps, and
// mask and landmarks that stay on the target's face. Set FSC_AUGMENT_GRID=/tmp/x.png to also
// write a grid of samples (rows of prepared face, target, input, mask) to look at.
#include "core/train/augment.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/face/mask.h"
#include "core/train/face_set.h"
#include "core/train/random_warp.h"
#include "tests/test_paths.h"

namespace fsc::train {
namespace {

namespace fs = std::filesystem;

// Runs the real `fsc extract` on sample photos (names under DataDir()); returns the face folder.
std::string ExtractFaces(const std::vector<std::string>& photos) {
  const std::string input = fsc::testing::MakeTempDir("fsc-augment-in");
  for (const std::string& photo : photos) {
    fs::copy_file(fsc::testing::DataDir() + "/" + photo, input + "/" + photo);
  }
  const std::string output = fsc::testing::MakeTempDir("fsc-augment");
  const std::string command =
      fsc::testing::BinDir() + "/fsc extract " + input + " -o " + output + " >/dev/null 2>&1";
  EXPECT_EQ(std::system(command.c_str()), 0) << command << " failed (is the fsc target built?)";
  return output;
}

bool Same(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

double MeanAbsDiff(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat diff;
  cv::absdiff(a, b, diff);
  const cv::Scalar mean = cv::mean(diff);
  return (mean[0] + mean[1] + mean[2]) / a.channels();
}

double IntersectionOverUnion(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat both, either;
  cv::bitwise_and(a > 127, b > 127, both);
  cv::bitwise_or(a > 127, b > 127, either);
  return static_cast<double>(cv::countNonZero(both)) / std::max(1, cv::countNonZero(either));
}

cv::Point2f Centroid(const face::Landmarks& points, int begin = 0, int end = 68) {
  cv::Point2f sum(0, 0);
  for (int i = begin; i < end; ++i) sum += points[i];
  return sum / static_cast<float>(end - begin);
}

cv::Point2f MaskCentre(const cv::Mat& mask) {
  const cv::Moments m = cv::moments(mask, true);
  return cv::Point2f(static_cast<float>(m.m10 / m.m00), static_cast<float>(m.m01 / m.m00));
}

AugmentOptions NoColour(AugmentOptions options) {
  options.lab_lightness = 0;
  options.lab_ab = 0;
  options.clahe_chance = 0;
  return options;
}

class AugmentTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto set = FaceSet::Load(ExtractFaces({"sample1.jpg", "sample2.jpg"}));
    ASSERT_TRUE(set.ok()) << set.status();
    set_ = new FaceSet(*std::move(set));
  }
  static void TearDownTestSuite() { delete set_; }
  static const TrainingFace& face(int i = 0) { return (*set_)[i]; }
  static FaceSet* set_;
};
FaceSet* AugmentTest::set_ = nullptr;

TEST(RngTest, KeyedStreamsAreReproducibleAndIndependent) {
  Rng a = Rng::ForKey({1, 0, 2, 3}), b = Rng::ForKey({1, 0, 2, 3}), c = Rng::ForKey({1, 0, 2, 4});
  int equal_to_c = 0;
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = a.NextU64();
    EXPECT_EQ(x, b.NextU64());
    equal_to_c += x == c.NextU64();
  }
  EXPECT_EQ(equal_to_c, 0);
  // Pinned values: a seed must give the same samples on every platform and in later versions
  // (resumed runs depend on it).
  Rng pinned(42);
  EXPECT_EQ(pinned.NextU64(), 1546998764402558742ull);
  EXPECT_EQ(pinned.NextU64(), 6990951692964543102ull);
  EXPECT_EQ(Rng::ForKey({1, 2, 3}).NextU64(), 7160471082430512986ull);
  Rng normal(7);
  EXPECT_NEAR(normal.Normal(), -0.27902399102519809, 1e-12);
  EXPECT_EQ(normal.Below(1000), 638u);
}

TEST(RngTest, DistributionsHaveTheRightShape) {
  Rng rng(7);
  double sum = 0, sum_sq = 0, uniform_min = 1, uniform_max = 0;
  int below_counts[5] = {0, 0, 0, 0, 0};
  constexpr int kDraws = 20000;
  for (int i = 0; i < kDraws; ++i) {
    const double z = rng.Normal();
    sum += z;
    sum_sq += z * z;
    const double u = rng.Uniform();
    uniform_min = std::min(uniform_min, u);
    uniform_max = std::max(uniform_max, u);
    const uint64_t k = rng.Below(5);
    ASSERT_LT(k, 5u);
    ++below_counts[k];
    const double r = rng.Uniform(-3, 2);
    ASSERT_TRUE(r >= -3 && r < 2);
  }
  EXPECT_NEAR(sum / kDraws, 0, 0.03);
  EXPECT_NEAR(sum_sq / kDraws, 1, 0.05);
  EXPECT_GE(uniform_min, 0);
  EXPECT_LT(uniform_max, 1);
  EXPECT_LT(uniform_min, 0.001);
  EXPECT_GT(uniform_max, 0.999);
  for (int count : below_counts) EXPECT_NEAR(count, kDraws / 5, kDraws / 50);
  EXPECT_EQ(rng.Below(0), 0u);
}

TEST(AugmentOptionsTest, RejectsOutOfRange) {
  EXPECT_TRUE(ValidateAugmentOptions({}).ok());
  AugmentOptions o;
  o.coverage = 0;
  EXPECT_FALSE(ValidateAugmentOptions(o).ok());
  o = {};
  o.size = 8;
  EXPECT_FALSE(ValidateAugmentOptions(o).ok());
  o = {};
  o.flip_chance = 1.5;
  EXPECT_FALSE(ValidateAugmentOptions(o).ok());
  o = {};
  o.zoom = -0.1;
  EXPECT_FALSE(ValidateAugmentOptions(o).ok());
}

TEST(LandmarkMirrorTest, OrderIsAnInvolutionSwappingSides) {
  const auto& order = MirroredLandmarkOrder();
  for (int i = 0; i < 68; ++i) EXPECT_EQ(order[order[i]], i) << i;
  EXPECT_EQ(order[0], 16);
  EXPECT_EQ(order[8], 8);  // chin
  EXPECT_EQ(order[17], 26);
  EXPECT_EQ(order[30], 30);  // nose tip
  EXPECT_EQ(order[36], 45);  // outer eye corners
  EXPECT_EQ(order[39], 42);  // inner eye corners
  EXPECT_EQ(order[40], 47);
  EXPECT_EQ(order[48], 54);  // mouth corners
  EXPECT_EQ(order[51], 51);
  EXPECT_EQ(order[60], 64);
  EXPECT_EQ(order[66], 66);
}

TEST(RandomWarpTest, ZeroNoiseIsNearIdentityAndNoiseMovesIt) {
  std::array<float, 25> zero{}, noise{};
  for (int i = 0; i < 25; ++i) noise[i] = (i % 2 ? 1.f : -1.f) * 2;
  for (int size : {64, 128}) {
    cv::Mat map_x, map_y;
    RandomWarpMaps(size, zero, zero, &map_x, &map_y);
    ASSERT_EQ(map_x.size(), cv::Size(size, size));
    for (int y = 0; y < size; y += 7) {
      for (int x = 0; x < size; x += 7) {
        EXPECT_NEAR(map_x.at<float>(y, x), x, 0.75) << size;
        EXPECT_NEAR(map_y.at<float>(y, x), y, 0.75) << size;
      }
    }
    cv::Mat moved_x, moved_y;
    RandomWarpMaps(size, noise, zero, &moved_x, &moved_y);
    EXPECT_GT(cv::norm(moved_x, map_x, cv::NORM_INF), 0.5);
    EXPECT_EQ(cv::norm(moved_y, map_y, cv::NORM_INF), 0);
  }
}

TEST_F(AugmentTest, CoverageCropSizeAndLandmarks) {
  AugmentOptions options;
  options.size = 64;
  const PreparedFace prepared = PrepareFace(face(), options, face::MaskType::kHull);
  ASSERT_EQ(prepared.image.size(), cv::Size(64, 64));
  ASSERT_EQ(prepared.mask.size(), cv::Size(64, 64));
  // 87.5 % of 256: 16 px off each side, a 224 px crop scaled to 64.
  cv::Mat expected;
  cv::resize(face().image(cv::Rect(16, 16, 224, 224)), expected, cv::Size(64, 64), 0, 0,
             cv::INTER_AREA);
  EXPECT_TRUE(Same(prepared.image, expected));
  for (int i = 0; i < 68; ++i) {
    EXPECT_NEAR(prepared.landmarks[i].x, (face().landmarks[i].x - 16 + 0.5f) * 64 / 224 - 0.5f,
                1e-4);
  }
  // Full coverage at the face's own size changes nothing.
  options.coverage = 1;
  options.size = 256;
  const PreparedFace whole = PrepareFace(face(), options, std::nullopt);
  EXPECT_TRUE(Same(whole.image, face().image));
  EXPECT_TRUE(whole.mask.empty());
  for (int i = 0; i < 68; ++i) EXPECT_NEAR(whole.landmarks[i].x, face().landmarks[i].x, 1e-4);
  // The mask follows the crop: built from the prepared landmarks it overlaps the cropped mask.
  options.coverage = 0.6;
  options.size = 128;
  const PreparedFace tight = PrepareFace(face(), options, face::MaskType::kComponents);
  EXPECT_GT(
      IntersectionOverUnion(tight.mask, face::BuildLandmarkMask(tight.landmarks, cv::Size(128, 128),
                                                                face::MaskType::kComponents)),
      0.93);
}

TEST_F(AugmentTest, SameKeySameSampleDifferentKeyDifferentSample) {
  AugmentOptions options;
  const PreparedFace prepared = PrepareFace(face(), options, face::MaskType::kExtended);
  auto make = [&](uint64_t seed, uint64_t position) {
    Rng rng = Rng::ForKey({seed, 0, 0, position});
    AugmentedSample sample;
    AugmentSample(prepared, options, DrawSampleParams(options, rng), &sample);
    return sample;
  };
  const AugmentedSample a = make(1, 5), b = make(1, 5), c = make(2, 5), d = make(1, 6);
  EXPECT_TRUE(Same(a.input, b.input));
  EXPECT_TRUE(Same(a.target, b.target));
  EXPECT_TRUE(Same(a.mask, b.mask));
  EXPECT_EQ(a.landmarks, b.landmarks);
  EXPECT_FALSE(Same(a.input, c.input));
  EXPECT_FALSE(Same(a.target, c.target));
  EXPECT_FALSE(Same(a.target, d.target));
  EXPECT_NE(a.landmarks, c.landmarks);
}

TEST_F(AugmentTest, WarpChangesOnlyTheInput) {
  const AugmentOptions warped = NoColour(AugmentOptions());
  AugmentOptions plain = warped;
  plain.warp = false;
  const PreparedFace prepared = PrepareFace(face(), warped, face::MaskType::kExtended);
  for (uint64_t key = 0; key < 8; ++key) {
    Rng rng = Rng::ForKey({3, key});
    const SampleParams params = DrawSampleParams(warped, rng);
    AugmentedSample with, without;
    AugmentSample(prepared, warped, params, &with);
    AugmentSample(prepared, plain, params, &without);
    EXPECT_TRUE(Same(with.target, without.target));
    EXPECT_TRUE(Same(with.mask, without.mask));
    EXPECT_EQ(with.landmarks, without.landmarks);
    EXPECT_TRUE(Same(without.input, without.target));
    // Noise of σ = 5/256 · 64 = 1.25 px moves edges visibly but keeps the face in place.
    const double moved = MeanAbsDiff(with.input, with.target);
    EXPECT_GT(moved, 1.0) << key;
    EXPECT_LT(moved, 25.0) << key;
    // The target is exactly the affine resample of the prepared face.
    cv::Mat expected;
    cv::warpAffine(prepared.image, expected, SampleAffine(params, 64), cv::Size(64, 64),
                   cv::INTER_LINEAR, cv::BORDER_REPLICATE);
    EXPECT_TRUE(Same(with.target, expected)) << key;
  }
}

TEST_F(AugmentTest, ComposedWarpMatchesFaceswapsTwoStepWarp) {
  // Faceswap remaps the already transformed image; fsc remaps the source once through the
  // composed map. Away from the borders both sample the same points.
  const AugmentOptions options = NoColour(AugmentOptions());
  const PreparedFace prepared = PrepareFace(face(), options, std::nullopt);
  Rng rng = Rng::ForKey({9});
  const SampleParams params = DrawSampleParams(options, rng);
  AugmentedSample sample;
  AugmentSample(prepared, options, params, &sample);
  cv::Mat map_x, map_y, two_step;
  RandomWarpMaps(64, params.warp_x, params.warp_y, &map_x, &map_y);
  cv::remap(sample.target, two_step, map_x, map_y, cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  const cv::Rect inner(8, 8, 48, 48);
  EXPECT_LT(MeanAbsDiff(sample.input(inner), two_step(inner)), 4.0);
}

TEST_F(AugmentTest, FlipMirrorsImageMaskAndLandmarks) {
  const AugmentOptions options = NoColour(AugmentOptions());
  const PreparedFace prepared = PrepareFace(face(), options, face::MaskType::kComponents);
  SampleParams params;  // identity geometry ...
  params.flip = true;   // ... plus the flip
  AugmentedSample sample;
  AugmentOptions no_warp = options;
  no_warp.warp = false;
  AugmentSample(prepared, no_warp, params, &sample);
  cv::Mat mirrored;
  cv::flip(prepared.image, mirrored, 1);
  EXPECT_TRUE(Same(sample.target, mirrored));
  cv::flip(prepared.mask, mirrored, 1);
  EXPECT_TRUE(Same(sample.mask, mirrored));
  const auto& order = MirroredLandmarkOrder();
  for (int i = 0; i < 68; ++i) {
    EXPECT_NEAR(sample.landmarks[i].x, 63 - prepared.landmarks[order[i]].x, 1e-3) << i;
    EXPECT_NEAR(sample.landmarks[i].y, prepared.landmarks[order[i]].y, 1e-3) << i;
  }
  // The semantics survive: 36-41 is still the eye on the image's left, 48 the left mouth corner,
  // and the jaw still runs left to right.
  EXPECT_LT(Centroid(sample.landmarks, 36, 42).x, Centroid(sample.landmarks, 42, 48).x);
  EXPECT_LT(sample.landmarks[48].x, sample.landmarks[54].x);
  EXPECT_LT(sample.landmarks[0].x, sample.landmarks[16].x);
  // The mouth corner on the left of the flipped image is the right corner of the original.
  EXPECT_NEAR(sample.landmarks[48].x, 63 - prepared.landmarks[54].x, 1e-3);
}

TEST_F(AugmentTest, MaskAndLandmarksStayOnTheTargetFace) {
  AugmentOptions options;
  options.size = 128;
  options.rotation_degrees = 10;
  options.shift = 0.05;
  for (int f = 0; f < set_->size(); ++f) {
    const PreparedFace prepared = PrepareFace(face(f), options, face::MaskType::kComponents);
    for (uint64_t key = 0; key < 6; ++key) {
      SCOPED_TRACE(::testing::Message() << "face " << f << " key " << key);
      Rng rng = Rng::ForKey({11, static_cast<uint64_t>(f), key});
      AugmentedSample sample;
      const SampleParams params = DrawSampleParams(options, rng);
      AugmentSample(prepared, options, params, &sample);
      // The augmented mask equals the mask drawn afresh from the augmented landmarks.
      const cv::Mat drawn = face::BuildLandmarkMask(sample.landmarks, cv::Size(128, 128),
                                                    face::MaskType::kComponents);
      EXPECT_GT(IntersectionOverUnion(sample.mask, drawn), 0.9);
      // The mask's centre moves with the face: it is where the affine takes the prepared mask's
      // centre, and it stays near the landmarks' centre (which sits lower: eyes, nose, mouth).
      const cv::Point2f centre = MaskCentre(sample.mask);
      std::vector<cv::Point2f> moved;
      cv::transform(std::vector<cv::Point2f>{MaskCentre(prepared.mask)}, moved,
                    SampleAffine(params, 128));
      EXPECT_LT(cv::norm(centre - moved[0]), 1.5);
      EXPECT_LT(cv::norm(centre - Centroid(sample.landmarks)), 0.15 * 128);
      // The eye on the image's left stays on the left, whatever was flipped.
      EXPECT_LT(Centroid(sample.landmarks, 36, 42).x, Centroid(sample.landmarks, 42, 48).x);
    }
  }
}

TEST_F(AugmentTest, ColourJitterShiftsLightnessNotGeometry) {
  AugmentOptions options = NoColour(AugmentOptions());
  options.warp = false;
  const PreparedFace prepared = PrepareFace(face(), options, std::nullopt);
  SampleParams params;
  AugmentedSample plain, brighter, darker;
  AugmentSample(prepared, options, params, &plain);
  EXPECT_TRUE(Same(plain.target, prepared.image));
  params.lab[0] = 0.25;
  AugmentSample(prepared, options, params, &brighter);
  params.lab[0] = -0.25;
  AugmentSample(prepared, options, params, &darker);
  auto lightness = [](const cv::Mat& bgr) {
    cv::Mat lab;
    cv::cvtColor(bgr, lab, cv::COLOR_BGR2Lab);
    return cv::mean(lab)[0];
  };
  EXPECT_GT(lightness(brighter.target), lightness(plain.target) + 10);
  EXPECT_LT(lightness(darker.target), lightness(plain.target) - 10);
  EXPECT_EQ(plain.landmarks, brighter.landmarks);
  params.lab = {0, 0, 0};
  params.clahe_grid = 2;
  AugmentedSample clahe;
  AugmentSample(prepared, options, params, &clahe);
  EXPECT_FALSE(Same(clahe.target, plain.target));
}

TEST_F(AugmentTest, NoAugmentationIsTheCoverageCrop) {
  AugmentOptions options;
  options.augment = false;
  const PreparedFace prepared = PrepareFace(face(), options, face::MaskType::kHull);
  Rng rng(5);
  AugmentedSample sample;
  AugmentSample(prepared, options, DrawSampleParams(options, rng), &sample);
  EXPECT_TRUE(Same(sample.input, prepared.image));
  EXPECT_TRUE(Same(sample.target, prepared.image));
  EXPECT_TRUE(Same(sample.mask, prepared.mask));
  EXPECT_EQ(sample.landmarks, prepared.landmarks);
}

TEST_F(AugmentTest, DrawingIgnoresWhichAugmentationsAreOn) {
  AugmentOptions all, some;
  some.lab_lightness = 0;
  some.flip_chance = 0;
  Rng a(3), b(3);
  const SampleParams pa = DrawSampleParams(all, a), pb = DrawSampleParams(some, b);
  EXPECT_EQ(pa.rotation_degrees, pb.rotation_degrees);
  EXPECT_EQ(pa.warp_x, pb.warp_x);
  EXPECT_EQ(pb.lab[0], 0);
  EXPECT_FALSE(pb.flip);
}

// Optional visual check: FSC_AUGMENT_GRID=/tmp/augment.png writes columns of samples, rows:
// prepared face, target, input (warped), mask over target with landmarks.
TEST_F(AugmentTest, WritesGridWhenAsked) {
  const char* path = std::getenv("FSC_AUGMENT_GRID");
  if (path == nullptr) GTEST_SKIP() << "set FSC_AUGMENT_GRID=/tmp/augment.png to write the grid";
  AugmentOptions options;
  options.size = 128;
  constexpr int kColumns = 8;
  cv::Mat grid(4 * 128, kColumns * 128, CV_8UC3, cv::Scalar::all(0));
  for (int c = 0; c < kColumns; ++c) {
    const PreparedFace prepared =
        PrepareFace(face(c % set_->size()), options, face::MaskType::kExtended);
    Rng rng = Rng::ForKey({1, static_cast<uint64_t>(c)});
    AugmentedSample sample;
    AugmentSample(prepared, options, DrawSampleParams(options, rng), &sample);
    prepared.image.copyTo(grid(cv::Rect(c * 128, 0, 128, 128)));
    sample.target.copyTo(grid(cv::Rect(c * 128, 128, 128, 128)));
    sample.input.copyTo(grid(cv::Rect(c * 128, 256, 128, 128)));
    cv::Mat overlay = sample.target.clone();
    overlay.setTo(cv::Scalar(0, 160, 0), sample.mask);
    cv::addWeighted(overlay, 0.4, sample.target, 0.6, 0, overlay);
    for (int i = 0; i < 68; ++i) {
      const cv::Scalar colour = i >= 36 && i < 42   ? cv::Scalar(0, 0, 255)  // red: 36-41
                                : i >= 42 && i < 48 ? cv::Scalar(255, 0, 0)  // blue: 42-47
                                                    : cv::Scalar(0, 255, 255);
      cv::circle(overlay, sample.landmarks[i], 1, colour, cv::FILLED);
    }
    overlay.copyTo(grid(cv::Rect(c * 128, 384, 128, 128)));
  }
  ASSERT_TRUE(cv::imwrite(path, grid));
}

}  // namespace
}  // namespace fsc::train
