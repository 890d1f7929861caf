// --re-feed (Faceswap's): the landmark net on jittered copies of the detector box, averaged. With
// 0 the extractor gives exactly what the detector and the landmark net give on their own; with
// jitter the landmarks stay close to those, are the same on every run, and the CLI takes the flag.
#include <gtest/gtest.h>

#include <cmath>
#include <opencv2/imgcodecs.hpp>

#include "core/face/alignments_file.h"
#include "core/face/detector.h"
#include "core/face/extractor.h"
#include "core/face/landmark_net.h"
#include "core/rpc/option_schema.h"
#include "tests/test_paths.h"

namespace fsc::face {
namespace {

cv::Point2f EyeCentre(const proto::Face& face, int first) {
  cv::Point2f sum(0, 0);
  for (int i = first; i < first + 6; ++i)
    sum += cv::Point2f(face.landmarks(i).x(), face.landmarks(i).y());
  return sum / 6.0f;
}

// Inter-ocular distance: between the centres of the two eyes' six points.
double Iod(const proto::Face& face) { return cv::norm(EyeCentre(face, 36) - EyeCentre(face, 42)); }

// RMS landmark distance between two faces.
double RmsDistance(const proto::Face& a, const proto::Face& b) {
  double sum = 0;
  for (int i = 0; i < 68; ++i) {
    double dx = a.landmarks(i).x() - b.landmarks(i).x();
    double dy = a.landmarks(i).y() - b.landmarks(i).y();
    sum += dx * dx + dy * dy;
  }
  return std::sqrt(sum / 68);
}

ExtractOptions Options(int re_feed, int detector_input_size = 0) {
  ExtractOptions options;
  options.detector_input_size = detector_input_size;
  options.models_dir = testing::ModelsDir();
  options.write_faces = false;
  options.re_feed = re_feed;
  return options;
}

proto::Face FirstFace(const cv::Mat& image, int re_feed, int detector_input_size = 0) {
  auto extractor = FaceExtractor::Create(Options(re_feed, detector_input_size));
  EXPECT_TRUE(extractor.ok()) << extractor.status();
  if (!extractor.ok()) return {};
  auto faces = (*extractor)->Process(image);
  EXPECT_TRUE(faces.ok()) << faces.status();
  if (!faces.ok() || faces->empty()) {
    ADD_FAILURE() << "no face found";
    return {};
  }
  EXPECT_EQ(faces->front().face.landmarks_size(), 68);
  return faces->front().face;
}

TEST(ExtractReFeedTest, ZeroIsTheLandmarkNetOnTheDetectorBox) {
  cv::Mat image = cv::imread(testing::DataDir() + "/astronaut.png", cv::IMREAD_COLOR);
  ASSERT_FALSE(image.empty());
  proto::Face face = FirstFace(image, 0);
  ASSERT_EQ(face.landmarks_size(), 68);

  DetectorOptions detector_options;
  detector_options.models_dir = testing::ModelsDir();
  auto detector = CreateDetector("ssd", detector_options);
  ASSERT_TRUE(detector.ok()) << detector.status();
  auto detections = (*detector)->Detect(image);
  ASSERT_TRUE(detections.ok()) << detections.status();
  ASSERT_FALSE(detections->empty());
  auto net = LandmarkNet::Load(testing::ModelsDir());
  ASSERT_TRUE(net.ok()) << net.status();
  auto landmarks = (*net)->Predict(image, {detections->front().box});
  ASSERT_TRUE(landmarks.ok()) << landmarks.status();
  for (int i = 0; i < 68; ++i) {
    EXPECT_EQ(face.landmarks(i).x(), (*landmarks)[0][i].x) << "point " << i;
    EXPECT_EQ(face.landmarks(i).y(), (*landmarks)[0][i].y) << "point " << i;
  }
}

TEST(ExtractReFeedTest, JitteredBoxesAverageCloseToTheSingleRunAndRepeatExactly) {
  cv::Mat image = cv::imread(testing::DataDir() + "/astronaut.png", cv::IMREAD_COLOR);
  ASSERT_FALSE(image.empty());
  proto::Face plain = FirstFace(image, 0);
  proto::Face fed = FirstFace(image, 4);
  proto::Face again = FirstFace(image, 4);
  ASSERT_EQ(plain.landmarks_size(), 68);
  ASSERT_EQ(fed.landmarks_size(), 68);
  ASSERT_EQ(again.landmarks_size(), 68);
  const double iod = Iod(plain);
  ASSERT_GT(iod, 20);
  const double moved = RmsDistance(plain, fed) / iod;
  // The jittered runs do change the answer, but only by a few % of the eye distance.
  EXPECT_GT(moved, 0.0);
  EXPECT_LT(moved, 0.04) << "re-feed 4 moved the landmarks by " << 100 * moved << " % IOD";
  for (int i = 0; i < 68; ++i) {
    EXPECT_EQ(fed.landmarks(i).x(), again.landmarks(i).x()) << "point " << i;
    EXPECT_EQ(fed.landmarks(i).y(), again.landmarks(i).y()) << "point " << i;
  }
  // The transform follows the averaged landmarks.
  EXPECT_EQ(fed.transform().m_size(), 6);
}

TEST(ExtractReFeedTest, OptionRangeIsChecked) {
  // The largest re-feed is the schema's (fsc.proto's ExtractOptions.re_feed).
  const int max_re_feed = static_cast<int>(
      rpc::FindOptionSpec(*proto::ExtractOptions::descriptor()->FindFieldByName("re_feed"))->max());
  EXPECT_EQ(max_re_feed, 32);
  EXPECT_TRUE(ValidateExtractOptions(Options(max_re_feed)).ok());
  absl::Status too_many = ValidateExtractOptions(Options(max_re_feed + 1));
  EXPECT_EQ(too_many.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(too_many.message(), "--re-feed: 33 is outside 0..32") << too_many;
  EXPECT_FALSE(ValidateExtractOptions(Options(-1)).ok());
}

TEST(ExtractReFeedTest, CommandLineFlag) {
  std::string out = testing::MakeTempDir("fsc-refeed");
  std::string fsc = testing::BinDir() + "/fsc extract " + testing::DataDir() + "/astronaut.png";
  testing::CommandResult run =
      testing::RunCommand(fsc + " -o " + out + " --no-faces --re-feed 4 2>&1");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto alignments = ReadAlignments(out + "/alignments.fsa");
  ASSERT_TRUE(alignments.ok()) << alignments.status();
  ASSERT_EQ(alignments->frames_size(), 1);
  ASSERT_GE(alignments->frames(0).faces_size(), 1);
  cv::Mat image = cv::imread(testing::DataDir() + "/astronaut.png", cv::IMREAD_COLOR);
  // RunExtraction picks the detector's input size from the source's size; so does this run.
  proto::Face fed = FirstFace(image, 4, DefaultInputSize("ssd", image.cols, image.rows));
  ASSERT_EQ(fed.landmarks_size(), 68);
  const proto::Face& written = alignments->frames(0).faces(0);
  EXPECT_LT(RmsDistance(written, fed) / Iod(fed), 1e-4);

  testing::CommandResult refused = testing::RunCommand(fsc + " -o " + out + " --re-feed 33 2>&1");
  EXPECT_EQ(refused.exit_code, 2) << refused.output;
  EXPECT_NE(refused.output.find("re-feed"), std::string::npos) << refused.output;
}

}  // namespace
}  // namespace fsc::face
