// Tests for FaceSet on real faces made by the `fsc extract` binary from the sample photos:
// landmarks and masks load and agree, sizes are unified, and bad folders and files are refused
// with errors that say what to do.
#include "core/train/face_set.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/face/mask.h"
#include "tests/test_paths.h"

namespace fsc::train {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// Runs the real `fsc extract` on sample photos (names under DataDir()) into `output` (a new temp
// folder when empty) and returns the face folder.
std::string ExtractFaces(const std::vector<std::string>& photos, const std::string& flags = "",
                         std::string output = "") {
  const std::string input = fsc::testing::MakeTempDir("fsc-faceset-in");
  for (const std::string& photo : photos) {
    fs::copy_file(fsc::testing::DataDir() + "/" + photo, input + "/" + photo);
  }
  if (output.empty()) output = fsc::testing::MakeTempDir("fsc-faceset");
  const std::string command = fsc::testing::BinDir() + "/fsc extract " + input + " -o " + output +
                              " " + flags + " >/dev/null 2>&1";
  EXPECT_EQ(std::system(command.c_str()), 0) << command << " failed (is the fsc target built?)";
  return output;
}

std::vector<std::string> Pngs(const std::string& dir) {
  std::vector<std::string> paths;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".png") paths.push_back(entry.path().string());
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

double IntersectionOverUnion(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat both, either;
  cv::bitwise_and(a > 127, b > 127, both);
  cv::bitwise_or(a > 127, b > 127, either);
  return static_cast<double>(cv::countNonZero(both)) / std::max(1, cv::countNonZero(either));
}

class FaceSetTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { faces_ = new std::string(ExtractFaces({"sample1.jpg"})); }
  static void TearDownTestSuite() { delete faces_; }
  static std::string* faces_;
};
std::string* FaceSetTest::faces_ = nullptr;

TEST_F(FaceSetTest, LoadsFacesWithLandmarksAndMasks) {
  auto set = FaceSet::Load(*faces_);
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->size(), static_cast<int64_t>(Pngs(*faces_).size()));
  ASSERT_GE(set->size(), 2);  // sample1 has three people
  EXPECT_EQ(set->image_size(), 256);
  EXPECT_TRUE(set->warnings().empty());
  for (const TrainingFace& face : set->faces()) {
    SCOPED_TRACE(face.path);
    ASSERT_EQ(face.image.type(), CV_8UC3);
    ASSERT_EQ(face.image.size(), cv::Size(256, 256));
    ASSERT_EQ(face.landmarks.size(), 68u);
    for (const cv::Point2f& p : face.landmarks) {
      EXPECT_TRUE(p.x > 0 && p.x < 256 && p.y > 0 && p.y < 256) << p;
    }
    // Aligned faces: the left-of-image eye is left of the other, the nose between the eyes.
    EXPECT_LT(face.landmarks[36].x, face.landmarks[45].x);
    EXPECT_LT(face.landmarks[27].y, face.landmarks[57].y);
    for (face::MaskType type :
         {face::MaskType::kHull, face::MaskType::kComponents, face::MaskType::kExtended}) {
      const cv::Mat& mask = face.mask(type);
      ASSERT_EQ(mask.type(), CV_8UC1);
      ASSERT_EQ(mask.size(), cv::Size(256, 256));
      // The stored 128 px mask, scaled up, matches the mask drawn from the loaded landmarks.
      const cv::Mat drawn = face::BuildLandmarkMask(face.landmarks, mask.size(), type);
      EXPECT_GT(IntersectionOverUnion(mask, drawn), 0.95) << face::MaskTypeName(type);
      EXPECT_EQ(mask.at<uint8_t>(cv::Point(face.landmarks[30])), 255);  // nose tip inside
      EXPECT_EQ(mask.at<uint8_t>(2, 2), 0);                             // corner outside
    }
    EXPECT_GT(cv::countNonZero(face.mask(face::MaskType::kExtended)),
              cv::countNonZero(face.mask(face::MaskType::kComponents)));
  }
  EXPECT_EQ(set->memory_bytes(), set->size() * 256 * 256 * (3 + 3));
}

TEST_F(FaceSetTest, KeepsOnlyRequestedMasksAndResizes) {
  auto full = FaceSet::Load(*faces_);
  ASSERT_TRUE(full.ok()) << full.status();
  FaceSetOptions options;
  options.size = 128;
  options.masks = {face::MaskType::kComponents};
  options.threads = 1;
  auto small = FaceSet::Load(*faces_, options);
  ASSERT_TRUE(small.ok()) << small.status();
  ASSERT_EQ(small->size(), full->size());
  EXPECT_EQ(small->image_size(), 128);
  for (int64_t i = 0; i < small->size(); ++i) {
    const TrainingFace& face = (*small)[i];
    EXPECT_EQ(face.path, (*full)[i].path);
    EXPECT_EQ(face.image.size(), cv::Size(128, 128));
    EXPECT_TRUE(face.mask(face::MaskType::kHull).empty());
    EXPECT_TRUE(face.mask(face::MaskType::kExtended).empty());
    EXPECT_EQ(face.mask(face::MaskType::kComponents).size(), cv::Size(128, 128));
    for (int j = 0; j < 68; ++j) {  // pixel centres: (p + ½)·½ − ½
      EXPECT_NEAR(face.landmarks[j].x, ((*full)[i].landmarks[j].x + 0.5f) * 0.5f - 0.5f, 1e-4);
      EXPECT_NEAR(face.landmarks[j].y, ((*full)[i].landmarks[j].y + 0.5f) * 0.5f - 0.5f, 1e-4);
    }
    // The pixels are the full-size face shrunk.
    cv::Mat expected;
    cv::resize((*full)[i].image, expected, cv::Size(128, 128), 0, 0, cv::INTER_AREA);
    EXPECT_EQ(cv::norm(face.image, expected, cv::NORM_INF), 0);
  }
  EXPECT_EQ(small->memory_bytes(), small->size() * 128 * 128 * 4);
}

TEST_F(FaceSetTest, MixedSizesBecomeTheFirstFacesSize) {
  // sample1 at 128 px and sample2 at 256 px in one folder; sample1's faces sort first.
  const std::string dir = ExtractFaces({"sample1.jpg"}, "--size 128");
  ExtractFaces({"sample2.jpg"}, "", dir);
  const std::string only2 = ExtractFaces({"sample2.jpg"});
  auto mixed = FaceSet::Load(dir);
  ASSERT_TRUE(mixed.ok()) << mixed.status();
  auto large = FaceSet::Load(only2);
  ASSERT_TRUE(large.ok()) << large.status();
  EXPECT_EQ(mixed->image_size(), 128);
  int from2 = 0;
  for (const TrainingFace& face : mixed->faces()) {
    EXPECT_EQ(face.image.size(), cv::Size(128, 128));
    if (fs::path(face.path).filename().string().rfind("sample2", 0) != 0) continue;
    const TrainingFace& original = (*large)[from2++];
    EXPECT_NEAR(face.landmarks[30].x, (original.landmarks[30].x + 0.5f) * 0.5f - 0.5f, 1e-4);
  }
  EXPECT_EQ(from2, large->size());
  EXPECT_EQ(mixed->size(), large->size() + static_cast<int64_t>(Pngs(dir).size()) - from2);
}

TEST(FaceSetErrorsTest, MissingFolder) {
  const std::string dir = fsc::testing::MakeTempDir("fsc-faceset") + "/nope";
  auto set = FaceSet::Load(dir);
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(set.status().message(), HasSubstr(dir));
  EXPECT_THAT(set.status().message(), HasSubstr("fsc extract"));
}

TEST(FaceSetErrorsTest, EmptyFolderAndFolderWithoutPngs) {
  const std::string dir = fsc::testing::MakeTempDir("fsc-faceset");
  auto set = FaceSet::Load(dir);
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(set.status().message(), HasSubstr("no faces in " + dir));
  EXPECT_THAT(set.status().message(), HasSubstr("run fsc extract first"));
  std::ofstream(dir + "/alignments.fsa") << "not faces";
  cv::imwrite(dir + "/photo.jpg", cv::Mat(32, 32, CV_8UC3, cv::Scalar(1, 2, 3)));
  set = FaceSet::Load(dir);
  ASSERT_FALSE(set.ok());
  EXPECT_THAT(set.status().message(), HasSubstr("no faces in"));
}

TEST(FaceSetErrorsTest, NotAFolder) {
  const std::string file = fsc::testing::MakeTempDir("fsc-faceset") + "/file.png";
  std::ofstream(file) << "x";
  auto set = FaceSet::Load(file);
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(FaceSetTest, PngWithoutMetadataFailsOrIsSkipped) {
  const std::string dir = fsc::testing::MakeTempDir("fsc-faceset");
  for (const std::string& png : Pngs(*faces_)) {
    fs::copy_file(png, dir + "/" + fs::path(png).filename().string());
  }
  const std::string stranger = dir + "/zz_plain.png";
  cv::imwrite(stranger, cv::Mat(256, 256, CV_8UC3, cv::Scalar(40, 80, 120)));

  auto set = FaceSet::Load(dir);
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(set.status().message(), HasSubstr(stranger));
  EXPECT_THAT(set.status().message(), HasSubstr("no fsc face metadata"));

  FaceSetOptions options;
  options.skip_invalid = true;
  set = FaceSet::Load(dir, options);
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->size(), static_cast<int64_t>(Pngs(*faces_).size()));
  ASSERT_EQ(set->warnings().size(), 1u);
  EXPECT_THAT(set->warnings()[0], HasSubstr(stranger));
}

TEST_F(FaceSetTest, CorruptFaceIsDataLoss) {
  const std::string dir = fsc::testing::MakeTempDir("fsc-faceset");
  const std::string source = Pngs(*faces_).front();
  const std::string target = dir + "/cut.png";
  const auto bytes = fs::file_size(source);
  fs::copy_file(source, target);
  fs::resize_file(target, bytes / 2);
  auto set = FaceSet::Load(dir);
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(set.status().message(), HasSubstr(target));

  FaceSetOptions options;
  options.skip_invalid = true;
  set = FaceSet::Load(dir, options);
  ASSERT_FALSE(set.ok());  // every file skipped: nothing to train on
  EXPECT_EQ(set.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(set.status().message(), HasSubstr("no usable faces"));
}

TEST(FaceSetFromFacesTest, ChecksShapes) {
  TrainingFace face;
  face.path = "synthetic";
  face.image = cv::Mat(64, 64, CV_8UC3, cv::Scalar::all(0));
  face.landmarks.assign(68, cv::Point2f(32, 32));
  auto set = FaceSet::FromFaces({face});
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->image_size(), 64);
  TrainingFace bad = face;
  bad.landmarks.resize(5);
  EXPECT_FALSE(FaceSet::FromFaces({face, bad}).ok());
  bad = face;
  bad.image = cv::Mat(32, 32, CV_8UC3);
  EXPECT_FALSE(FaceSet::FromFaces({face, bad}).ok());
  EXPECT_FALSE(FaceSet::FromFaces({}).ok());
}

}  // namespace
}  // namespace fsc::train
