// Tests of the face recognition net against face-api itself (fixtures made by scripts/fixtures
// from face-api 1.7.15 under node): the descriptor of an exact 150x150 input, the aligned face
// box, and descriptors on the sample photos given face-api's landmarks.
#include "core/face/recognition_net.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "core/face/faceapi_face_input.h"
#include "core/face/landmark_net.h"
#include "core/face/recognition_net_module.h"
#include "core/face/tfjs_weights.h"
#include "tests/test_paths.h"

namespace fsc::face {
namespace {

using testing::ReadJson;

std::string FixtureDir() { return testing::FaceApiFixture(""); }

cv::Mat ReadImage(const std::string& path) {
  cv::Mat image = cv::imread(path, cv::IMREAD_COLOR);
  EXPECT_FALSE(image.empty()) << "cannot read " << path;
  return image;
}

Landmarks ToLandmarks(const nlohmann::json& points) {
  Landmarks landmarks;
  for (const auto& p : points) landmarks.emplace_back(p[0].get<float>(), p[1].get<float>());
  return landmarks;
}

Descriptor ToDescriptor(const nlohmann::json& values) { return values.get<std::vector<float>>(); }

class RecognitionNetTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto net = RecognitionNet::Load(testing::ModelsDir());
    ASSERT_TRUE(net.ok()) << net.status();
    net_ = std::move(net).value().release();
  }
  static void TearDownTestSuite() {
    delete net_;
    net_ = nullptr;
  }
  static RecognitionNet* net_;
};
RecognitionNet* RecognitionNetTest::net_ = nullptr;

TEST(RecognitionNetLoad, MissingModelIsNotFound) {
  auto net = RecognitionNet::Load(testing::MakeTempDir("recognition_net_test"));
  ASSERT_EQ(net.status().code(), absl::StatusCode::kNotFound) << net.status();
  EXPECT_NE(net.status().message().find("face_recognition_model-weights_manifest.json"),
            std::string::npos);
  EXPECT_NE(net.status().message().find("scripts/setup"), std::string::npos);
}

TEST(DescriptorDistance, IsEuclidean) {
  EXPECT_FLOAT_EQ(DescriptorDistance({0, 0, 0}, {3, 4, 0}), 5.0f);
  EXPECT_FLOAT_EQ(DescriptorDistance({1, 2}, {1, 2}), 0.0f);
  EXPECT_EQ(DescriptorDistance({1, 2}, {1, 2, 3}), std::numeric_limits<float>::infinity());
}

TEST(RecognitionNetwork, DescriptorOfExactInputMatchesFaceApi) {
  const nlohmann::json fixture = ReadJson(FixtureDir() + "face_recognition.json");
  const cv::Mat image = ReadImage(FixtureDir() + "recognition_input.png");
  ASSERT_EQ(image.size(), cv::Size(150, 150));
  torch::Tensor input = torch::empty({1, 150, 150, 3});
  WriteFaceApiInput(image, FaceApiCrop{0, 0, 150, 150}, 150, input.data_ptr<float>());
  // face-api's normalized input, first 8 values in NHWC order.
  const auto& first8 = fixture["input"]["input_normalized_stats"]["first8"];
  for (int k = 0; k < 8; ++k) {
    EXPECT_FLOAT_EQ(input.flatten()[k].item<float>(), first8[k].get<float>()) << k;
  }

  auto weights = TfjsWeights::Load(testing::ModelsDir() +
                                   "/face-api/model/face_recognition_model-weights_manifest.json");
  ASSERT_TRUE(weights.ok()) << weights.status();
  auto network = RecognitionNetwork::FromWeights(*weights);
  ASSERT_TRUE(network.ok()) << network.status();
  torch::NoGradGuard no_grad;
  torch::Tensor out = network->Forward(input.permute({0, 3, 1, 2})).contiguous();
  ASSERT_EQ(out.sizes().vec(), (std::vector<int64_t>{1, 128}));
  const Descriptor got(out.data_ptr<float>(), out.data_ptr<float>() + 128);
  const Descriptor want = ToDescriptor(fixture["descriptor"]);
  double max_diff = 0;
  for (int k = 0; k < 128; ++k) max_diff = std::max<double>(max_diff, std::abs(got[k] - want[k]));
  const float distance = DescriptorDistance(got, want);
  std::printf("recognition net on the exact input: max |diff| %.3g, distance %.3g\n", max_diff,
              distance);
  EXPECT_LT(max_diff, 1e-5);
  EXPECT_LT(distance, 1e-4);
}

TEST_F(RecognitionNetTest, SampleImagesMatchFaceApiGivenItsLandmarks) {
  const nlohmann::json fixture = ReadJson(FixtureDir() + "images.json");
  double worst = 0, worst_png = 0;
  int faces = 0, rects_checked = 0;
  for (const auto& entry : fixture["images"]) {
    const std::string file = entry["file"];
    const cv::Mat image = ReadImage(testing::SourceDir() + "/" + file);
    std::vector<Landmarks> landmarks;
    for (const auto& face : entry["ssd_faces"]) {
      landmarks.push_back(ToLandmarks(face["landmarks"]));
      // The aligned box: face-api's rect, unless its crop-size clamp (see AlignedFaceBox) cut it.
      const cv::Rect2d box = AlignedFaceBox(landmarks.back());
      const auto rect = face["descriptor_rect"].get<std::vector<double>>();
      if (rect[2] == rect[3]) {
        EXPECT_EQ(std::vector<double>({box.x, box.y, box.width, box.height}), rect) << file;
        ++rects_checked;
      }
    }
    auto descriptors = net_->Describe(image, landmarks);  // all faces in one batch
    ASSERT_TRUE(descriptors.ok()) << descriptors.status();
    ASSERT_EQ(descriptors->size(), landmarks.size());
    double image_worst = 0;
    for (size_t i = 0; i < landmarks.size(); ++i) {
      ASSERT_EQ((*descriptors)[i].size(), 128u);
      const Descriptor want = ToDescriptor(entry["ssd_faces"][i]["descriptor"]);
      const double d = DescriptorDistance((*descriptors)[i], want);
      image_worst = std::max(image_worst, d);
      EXPECT_LT(d, 0.05) << file << " face " << i;
      ++faces;
    }
    // Different people in one photo stay far apart (face-api's same-person threshold is 0.6).
    for (size_t i = 0; i < landmarks.size(); ++i) {
      for (size_t j = i + 1; j < landmarks.size(); ++j) {
        EXPECT_GT(DescriptorDistance((*descriptors)[i], (*descriptors)[j]), 0.3)
            << file << " faces " << i << " and " << j;
      }
    }
    worst = std::max(worst, image_worst);
    if (file == "data/astronaut.png") worst_png = image_worst;
    std::printf("%-20s %2zu faces, worst descriptor distance to face-api %.3g\n", file.c_str(),
                landmarks.size(), image_worst);
  }
  std::printf("all %d faces: worst distance %.3g (lossless PNG: %.3g); %d aligned boxes equal\n",
              faces, worst, worst_png, rects_checked);
  EXPECT_GT(rects_checked, faces / 2);
  EXPECT_LT(worst_png, 1e-3);
}

TEST_F(RecognitionNetTest, WithFscLandmarksTheDescriptorStaysClose) {
  // The whole chain fsc runs: fsc's landmarks from face-api's box, then fsc's descriptor.
  auto landmark_net = LandmarkNet::Load(testing::ModelsDir());
  ASSERT_TRUE(landmark_net.ok()) << landmark_net.status();
  const nlohmann::json fixture = ReadJson(FixtureDir() + "images.json");
  double worst = 0;
  for (const auto& entry : fixture["images"]) {
    const cv::Mat image = ReadImage(testing::SourceDir() + "/" + entry["file"].get<std::string>());
    std::vector<cv::Rect2f> boxes;
    for (const auto& face : entry["ssd_faces"]) {
      const auto b = face["box"].get<std::vector<float>>();
      boxes.emplace_back(b[0], b[1], b[2], b[3]);
    }
    auto landmarks = (*landmark_net)->Predict(image, boxes);
    ASSERT_TRUE(landmarks.ok()) << landmarks.status();
    auto descriptors = net_->Describe(image, *landmarks);
    ASSERT_TRUE(descriptors.ok()) << descriptors.status();
    for (size_t i = 0; i < boxes.size(); ++i) {
      const double d =
          DescriptorDistance((*descriptors)[i], ToDescriptor(entry["ssd_faces"][i]["descriptor"]));
      worst = std::max(worst, d);
      EXPECT_LT(d, 0.15) << entry["file"] << " face " << i;
    }
  }
  std::printf("fsc landmarks + fsc descriptor vs face-api: worst distance %.3g\n", worst);
}

TEST_F(RecognitionNetTest, RejectsBadInput) {
  const cv::Mat image = ReadImage(testing::DataDir() + "/astronaut.png");
  const nlohmann::json fixture = ReadJson(FixtureDir() + "images.json");
  Landmarks good;
  for (const auto& entry : fixture["images"]) {
    if (entry["file"] == "data/astronaut.png")
      good = ToLandmarks(entry["ssd_faces"][0]["landmarks"]);
  }
  ASSERT_EQ(good.size(), 68u);
  auto code = [&](const cv::Mat& img, const std::vector<Landmarks>& landmarks) {
    return net_->Describe(img, landmarks).status().code();
  };
  EXPECT_EQ(code(cv::Mat(), {good}), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(image, {Landmarks(5, cv::Point2f(100, 100))}), absl::StatusCode::kInvalidArgument);
  Landmarks nan_point = good;
  nan_point[40].x = std::nanf("");
  EXPECT_EQ(code(image, {good, nan_point}), absl::StatusCode::kInvalidArgument);
  Landmarks far_away = good;
  for (cv::Point2f& p : far_away) p.x += 5000;
  EXPECT_EQ(code(image, {far_away}), absl::StatusCode::kInvalidArgument);
  Landmarks huge = good;
  for (cv::Point2f& p : huge) p *= 1e30f;
  EXPECT_EQ(code(image, {huge}), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(image, {Landmarks(68, cv::Point2f(100, 100))}),
            absl::StatusCode::kInvalidArgument);  // degenerate: a zero-size box
  auto none = net_->Describe(image, {});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

}  // namespace
}  // namespace fsc::face
