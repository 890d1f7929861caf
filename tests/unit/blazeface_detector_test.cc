// Tests the BlazeFace detector on the real model and real photos: anchors, weighted NMS, the
// astronaut's face and keypoints, letterbox mapping, recall on the group photos against face-api,
// and the error paths.
#include "core/face/blazeface_detector.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/face/detector.h"
#include "tests/test_paths.h"

namespace fsc::face {
namespace {

using ::fsc::testing::DataDir;
using ::fsc::testing::ModelsDir;
using ::fsc::testing::SourceDir;

// The astronaut's face, as dlib's HOG frontal face detector (an independent method) finds it in
// data/astronaut.png: dlib::get_frontal_face_detector() returned [(179, 83) (266, 170)].
const cv::Rect2f kAstronautFace(179, 83, 88, 88);

float Iou(const cv::Rect2f& a, const cv::Rect2f& b) {
  const float inter = (a & b).area();
  return inter / (a.area() + b.area() - inter);
}

cv::Mat ReadImage(const std::string& name) {
  cv::Mat image = cv::imread(DataDir() + "/" + name, cv::IMREAD_COLOR);
  EXPECT_FALSE(image.empty()) << "cannot read " << DataDir() << "/" << name
                              << "; run scripts/setup";
  return image;
}

std::unique_ptr<FaceDetector> MakeDetector(DetectorOptions options = {}) {
  options.models_dir = ModelsDir();
  auto detector = NewBlazeFaceDetector(options);
  EXPECT_TRUE(detector.ok()) << detector.status();
  return detector.ok() ? std::move(detector).value() : nullptr;
}

TEST(BlazeFaceAnchorsTest, FollowMediaPipeFrontLayout) {
  const std::vector<cv::Point2f> anchors = blazeface::FrontAnchors();
  ASSERT_EQ(anchors.size(), 896u);
  // 16x16 grid, 2 per cell, row-major.
  EXPECT_FLOAT_EQ(anchors[0].x, 0.5f / 16);
  EXPECT_FLOAT_EQ(anchors[0].y, 0.5f / 16);
  EXPECT_EQ(anchors[1], anchors[0]);
  EXPECT_FLOAT_EQ(anchors[2].x, 1.5f / 16);
  EXPECT_FLOAT_EQ(anchors[32].y, 1.5f / 16);
  EXPECT_FLOAT_EQ(anchors[511].x, 15.5f / 16);
  EXPECT_FLOAT_EQ(anchors[511].y, 15.5f / 16);
  // Then the 8x8 grid, 6 per cell.
  EXPECT_FLOAT_EQ(anchors[512].x, 0.5f / 8);
  EXPECT_EQ(anchors[517], anchors[512]);
  EXPECT_FLOAT_EQ(anchors[518].x, 1.5f / 8);
  EXPECT_FLOAT_EQ(anchors[895].x, 7.5f / 8);
  EXPECT_FLOAT_EQ(anchors[895].y, 7.5f / 8);
}

TEST(BlazeFaceDecodeTest, OffsetsAreInputPixelsAroundTheAnchor) {
  float raw[16] = {12.8f, -6.4f, 32, 64};  // centre +0.1, -0.05; size 0.25 x 0.5
  raw[4] = 1.28f;                          // first keypoint +0.01 in x
  const Detection d = blazeface::DecodeAnchor(raw, cv::Point2f(0.5f, 0.5f), 0.9f);
  EXPECT_NEAR(d.box.x, 0.6f - 0.125f, 1e-6);
  EXPECT_NEAR(d.box.y, 0.45f - 0.25f, 1e-6);
  EXPECT_NEAR(d.box.width, 0.25f, 1e-6);
  EXPECT_NEAR(d.box.height, 0.5f, 1e-6);
  ASSERT_EQ(d.keypoints.size(), 6u);
  EXPECT_NEAR(d.keypoints[0].x, 0.51f, 1e-6);
  EXPECT_NEAR(d.keypoints[5].y, 0.5f, 1e-6);
  EXPECT_FLOAT_EQ(d.score, 0.9f);
}

TEST(BlazeFaceNmsTest, MergesOverlapsWeightedByScoreAndKeepsSeparateFaces) {
  Detection a{cv::Rect2f(0, 0, 10, 10), 0.9f, {cv::Point2f(2, 2)}};
  Detection b{cv::Rect2f(1, 1, 10, 10), 0.3f, {cv::Point2f(6, 6)}};  // IoU(a, b) = 0.68
  Detection far{cv::Rect2f(50, 50, 10, 10), 0.6f, {cv::Point2f(55, 55)}};
  const std::vector<Detection> out = blazeface::WeightedNms({b, far, a}, 0.5f);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_FLOAT_EQ(out[0].score, 0.9f);     // the cluster keeps its best score
  EXPECT_NEAR(out[0].box.x, 0.25f, 1e-5);  // (0.9 * 0 + 0.3 * 1) / 1.2
  EXPECT_NEAR(out[0].box.width, 10.0f, 1e-5);
  EXPECT_NEAR(out[0].keypoints[0].x, 3.0f, 1e-5);  // (0.9 * 2 + 0.3 * 6) / 1.2
  EXPECT_FLOAT_EQ(out[1].score, 0.6f);
  EXPECT_NEAR(out[1].box.x, 50.0f, 1e-4);
  EXPECT_NEAR(out[1].box.height, 10.0f, 1e-4);
  // Above the threshold nothing merges.
  EXPECT_EQ(blazeface::WeightedNms({a, b, far}, 0.7f).size(), 3u);
  // The detector merges at MediaPipe's 0.3 unless asked for stricter suppression.
  DetectorOptions options;
  EXPECT_FLOAT_EQ(blazeface::NmsThreshold(options), 0.3f);
  options.iou_threshold = 0.2f;
  EXPECT_FLOAT_EQ(blazeface::NmsThreshold(options), 0.2f);
  options.iou_threshold = 0;
  EXPECT_FLOAT_EQ(blazeface::NmsThreshold(options), 0.3f);
}

TEST(BlazeFaceDetectorTest, FindsTheAstronautsFaceAndItsKeypoints) {
  auto detector = MakeDetector();
  ASSERT_NE(detector, nullptr);
  EXPECT_EQ(detector->name(), "blazeface");
  const cv::Mat image = ReadImage("astronaut.png");
  auto faces = detector->Detect(image);
  ASSERT_TRUE(faces.ok()) << faces.status();
  ASSERT_EQ(faces->size(), 1u);
  const Detection& face = faces->front();
  EXPECT_GT(face.score, 0.75f);
  EXPECT_GT(Iou(face.box, kAstronautFace), 0.7f) << face.box;
  ASSERT_EQ(face.keypoints.size(), 6u);
  const cv::Point2f right_eye = face.keypoints[0], left_eye = face.keypoints[1];
  const cv::Point2f nose = face.keypoints[2], mouth = face.keypoints[3];
  for (const cv::Point2f& p : {right_eye, left_eye, nose, mouth}) {
    EXPECT_TRUE(face.box.contains(p)) << p << " outside " << face.box;
  }
  // The subject's right eye is on the image's left; eyes above the nose above the mouth.
  EXPECT_LT(right_eye.x, left_eye.x);
  EXPECT_LT(std::max(right_eye.y, left_eye.y), nose.y);
  EXPECT_LT(nose.y, mouth.y);
  // Her eyes are ~45 px apart at this size.
  EXPECT_NEAR(cv::norm(left_eye - right_eye), 45, 10);
}

// Crops keep the 512 px longer side, so the network sees the face at the same scale and only the
// letterbox padding changes: the box must land on the same pixels, shifted by the crop's origin.
TEST(BlazeFaceDetectorTest, LetterboxMapsBackToFramePixels) {
  auto detector = MakeDetector();
  ASSERT_NE(detector, nullptr);
  const cv::Mat image = ReadImage("astronaut.png");
  auto full = detector->Detect(image);
  ASSERT_TRUE(full.ok()) << full.status();
  ASSERT_EQ(full->size(), 1u);
  const cv::Rect2f expected = full->front().box;

  for (const cv::Rect crop : {cv::Rect(0, 0, 512, 300), cv::Rect(100, 0, 300, 512)}) {
    auto faces = detector->Detect(image(crop).clone());
    ASSERT_TRUE(faces.ok()) << faces.status();
    ASSERT_EQ(faces->size(), 1u) << "crop " << crop;
    cv::Rect2f box = faces->front().box;
    box.x += crop.x;
    box.y += crop.y;
    EXPECT_GT(Iou(box, expected), 0.85f) << "crop " << crop << ": " << box << " vs " << expected;
  }
}

TEST(BlazeFaceDetectorTest, AcceptsGrayAndBgra) {
  auto detector = MakeDetector();
  ASSERT_NE(detector, nullptr);
  const cv::Mat image = ReadImage("astronaut.png");
  cv::Mat gray, bgra;
  cv::cvtColor(image, gray, cv::COLOR_BGR2GRAY);
  cv::cvtColor(image, bgra, cv::COLOR_BGR2BGRA);
  for (const cv::Mat& input : {gray, bgra}) {
    auto faces = detector->Detect(input);
    ASSERT_TRUE(faces.ok()) << faces.status();
    ASSERT_GE(faces->size(), 1u) << input.channels() << " channels";
    EXPECT_GT(Iou(faces->front().box, kAstronautFace), 0.6f);
  }
}

TEST(BlazeFaceDetectorTest, HonoursMinScoreAndMaxFaces) {
  const cv::Mat image = ReadImage("sample4.jpg");
  auto all = MakeDetector()->Detect(image);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_GE(all->size(), 2u);
  for (size_t i = 1; i < all->size(); ++i) EXPECT_GE((*all)[i - 1].score, (*all)[i].score);

  DetectorOptions one;
  one.max_faces = 1;
  auto top = MakeDetector(one)->Detect(image);
  ASSERT_TRUE(top.ok()) << top.status();
  ASSERT_EQ(top->size(), 1u);
  EXPECT_EQ(top->front().box, all->front().box);

  DetectorOptions strict;
  strict.min_score = 0.9999f;
  auto none = MakeDetector(strict)->Detect(image);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_LT(none->size(), all->size());
}

nlohmann::json ReadFaceApiImages() {
  const std::string path = SourceDir() + "/tests/fixtures/faceapi/images.json";
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  return in.good() ? nlohmann::json::parse(in) : nlohmann::json::object();
}

cv::Rect2f JsonBox(const nlohmann::json& box) {
  return cv::Rect2f(box[0].get<float>(), box[1].get<float>(), box[2].get<float>(),
                    box[3].get<float>());
}

// face-api's SSD box is taller than BlazeFace's square one (forehead to chin vs. a square around
// the eyes and mouth), so a match is an IoU of 0.3 with the detection's centre inside the
// reference box; each reference face is matched at most once.
bool SameFace(const cv::Rect2f& reference, const cv::Rect2f& box) {
  const cv::Point2f centre(box.x + box.width / 2, box.y + box.height / 2);
  return reference.contains(centre) && Iou(reference, box) >= 0.3f;
}

TEST(BlazeFaceDetectorTest, AstronautMatchesFaceApiSsd) {
  const nlohmann::json images = ReadFaceApiImages();
  ASSERT_TRUE(images.contains("images"));
  for (const auto& image : images["images"]) {
    if (image["file"] != "data/astronaut.png") continue;
    ASSERT_EQ(image["ssd_faces"].size(), 1u);
    const cv::Rect2f reference = JsonBox(image["ssd_faces"][0]["box"]);
    auto faces = MakeDetector()->Detect(ReadImage("astronaut.png"));
    ASSERT_TRUE(faces.ok()) << faces.status();
    ASSERT_EQ(faces->size(), 1u);
    EXPECT_TRUE(SameFace(reference, faces->front().box))
        << faces->front().box << " vs face-api " << reference;
    EXPECT_GT(Iou(reference, faces->front().box), 0.6f);
    return;
  }
  FAIL() << "images.json has no data/astronaut.png";
}

// BlazeFace's short-range model is made for faces filling a good part of the frame; in these
// 1920 px group photos faces are ~200 px, about 13 px at its 128 px input, at the edge of its
// range. It must still find most of the faces face-api's SSD finds, with few extra boxes.
TEST(BlazeFaceDetectorTest, FindsMostFacesOfTheGroupPhotos) {
  const nlohmann::json images = ReadFaceApiImages();
  ASSERT_TRUE(images.contains("images"));
  auto detector = MakeDetector();
  ASSERT_NE(detector, nullptr);
  int references = 0, found = 0, detections = 0, unmatched = 0, photos = 0;
  for (const auto& image : images["images"]) {
    const std::string file = image["file"];
    if (file.find("data/sample") != 0) continue;
    ++photos;
    auto faces = detector->Detect(ReadImage(file.substr(5)));
    ASSERT_TRUE(faces.ok()) << file << ": " << faces.status();
    std::vector<bool> used(faces->size(), false);
    int found_here = 0;
    for (const auto& reference : image["ssd_faces"]) {
      const cv::Rect2f box = JsonBox(reference["box"]);
      for (size_t i = 0; i < faces->size(); ++i) {
        if (!used[i] && SameFace(box, (*faces)[i].box)) {
          used[i] = true;
          ++found_here;
          break;
        }
      }
    }
    const int extra = static_cast<int>(std::count(used.begin(), used.end(), false));
    std::cout << file << ": face-api ssd " << image["ssd_faces"].size() << " faces, blazeface "
              << faces->size() << " (" << found_here << " matched, " << extra << " unmatched)\n";
    references += image["ssd_faces"].size();
    found += found_here;
    detections += faces->size();
    unmatched += extra;
  }
  ASSERT_EQ(photos, 6);
  const double recall = static_cast<double>(found) / references;
  const double precision = static_cast<double>(detections - unmatched) / detections;
  std::cout << "blazeface vs face-api ssd on sample1-6: recall " << found << "/" << references
            << " = " << recall << ", precision " << (detections - unmatched) << "/" << detections
            << " = " << precision << "\n";
  RecordProperty("recall", std::to_string(recall));
  RecordProperty("precision", std::to_string(precision));
  EXPECT_GE(recall, 0.6);
  EXPECT_GE(precision, 0.8);
}

TEST(BlazeFaceDetectorTest, EmptyImageIsInvalidArgument) {
  auto detector = MakeDetector();
  ASSERT_NE(detector, nullptr);
  auto faces = detector->Detect(cv::Mat());
  EXPECT_EQ(faces.status().code(), absl::StatusCode::kInvalidArgument);
  auto floats = detector->Detect(cv::Mat(64, 64, CV_32FC3, cv::Scalar::all(0)));
  EXPECT_EQ(floats.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(BlazeFaceDetectorTest, MissingModelIsNotFoundAndPointsAtSetup) {
  DetectorOptions options;
  options.models_dir = ::fsc::testing::MakeTempDir("blazeface-nomodel");
  auto detector = NewBlazeFaceDetector(options);
  ASSERT_EQ(detector.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(detector.status().message().find("scripts/setup"), std::string::npos)
      << detector.status();
  EXPECT_NE(detector.status().message().find(options.models_dir), std::string::npos);
}

TEST(BlazeFaceDetectorTest, CorruptModelIsDataLoss) {
  DetectorOptions options;
  options.models_dir = ::fsc::testing::MakeTempDir("blazeface-corrupt");
  const std::string path = blazeface::ModelPath(options.models_dir);
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path) << "not an onnx file";
  auto detector = NewBlazeFaceDetector(options);
  EXPECT_EQ(detector.status().code(), absl::StatusCode::kDataLoss) << detector.status();
}

TEST(BlazeFaceDetectorTest, RejectsOtherInputSizes) {
  DetectorOptions options;
  options.models_dir = ModelsDir();
  options.input_size = 256;
  EXPECT_EQ(NewBlazeFaceDetector(options).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fsc::face
