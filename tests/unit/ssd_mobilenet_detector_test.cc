// The SSD MobileNetV1 detector against face-api itself: raw network outputs on astronaut.png
// (tests/fixtures/faceapi/ssd_mobilenetv1.json), end-to-end detections on the sample photos
// (images.json), the face in Megamind.avi at smaller input sizes, and its error paths.
#include "core/face/ssd_mobilenet_detector.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "core/face/nms.h"
#include "tests/test_paths.h"

namespace fsc::face {
namespace {

using nlohmann::json;

using ::fsc::testing::ReadJson;

std::string FixturePath(const std::string& name) { return fsc::testing::FaceApiFixture(name); }

DetectorOptions Options() {
  DetectorOptions options;
  options.models_dir = fsc::testing::ModelsDir();
  return options;
}

cv::Rect2f JsonBox(const json& b) {
  return cv::Rect2f(b[0].get<float>(), b[1].get<float>(), b[2].get<float>(), b[3].get<float>());
}

class SsdMobilenetTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto detector = SsdMobilenetDetector::Create(Options());
    ASSERT_TRUE(detector.ok()) << detector.status();
    detector_ = detector->release();
  }
  static void TearDownTestSuite() {
    delete detector_;
    detector_ = nullptr;
  }
  static SsdMobilenetDetector* detector_;
};
SsdMobilenetDetector* SsdMobilenetTest::detector_ = nullptr;

TEST_F(SsdMobilenetTest, ReadsEveryManifestWeight) {
  // Every float tensor of the manifest except the TF preprocessor constants (mul/sub scalars)
  // is a network weight, a batch-norm statistic or the anchors.
  json manifest = ReadJson(fsc::testing::ModelsDir() +
                           "/face-api/model/ssd_mobilenetv1_model-weights_manifest.json");
  int64_t expected = 0;
  for (const auto& group : manifest) {
    for (const auto& w : group["weights"]) {
      const std::string name = w["name"];
      if (w["dtype"] != "float32" || name.rfind("Preprocessor/", 0) == 0) continue;
      int64_t n = 1;
      for (int64_t d : w["shape"]) n *= d;
      expected += n;
    }
  }
  EXPECT_EQ(detector_->net().num_weights(), expected);
  EXPECT_GT(expected, 5'000'000);
}

TEST_F(SsdMobilenetTest, RegeneratedAnchorsEqualStoredAnchors) {
  const SsdMobilenetNet& net = detector_->net();
  torch::Tensor generated = net.AnchorsForInput(512, {32, 16, 8, 4, 2, 1});
  ASSERT_EQ(generated.sizes(), net.stored_anchors().sizes());
  EXPECT_EQ(generated.size(0), 5118);
  EXPECT_LT((generated - net.stored_anchors()).abs().max().item<float>(), 1e-5f);
  // A 256 px input has grids 16, 8, 4, 2, 1, 1; boxes keep their pixel size, so twice the
  // normalised size, and centres move to the new cells.
  torch::Tensor small = net.AnchorsForInput(256, {16, 8, 4, 2, 1, 1});
  EXPECT_EQ(small.size(0), 16 * 16 * 3 + (64 + 16 + 4 + 1 + 1) * 6);
  const torch::Tensor& stored = net.stored_anchors();
  for (int a = 0; a < 3; ++a) {
    EXPECT_NEAR((small[a][2] - small[a][0]).item<float>(),
                2 * (stored[a][2] - stored[a][0]).item<float>(), 1e-5);
    EXPECT_NEAR((small[a][3] - small[a][1]).item<float>(),
                2 * (stored[a][3] - stored[a][1]).item<float>(), 1e-5);
    EXPECT_NEAR((small[a][0] + small[a][2]).item<float>() / 2, 0.5f / 16, 1e-6);
  }
}

TEST_F(SsdMobilenetTest, RawOutputsMatchFaceApiOnAstronaut) {
  json fx = ReadJson(FixturePath("ssd_mobilenetv1.json"));
  cv::Mat image = cv::imread(fsc::testing::DataDir() + "/astronaut.png", cv::IMREAD_COLOR);
  ASSERT_FALSE(image.empty());
  SquareInputGeometry geo;
  auto input = detector_->Preprocess(image, &geo);
  ASSERT_TRUE(input.ok()) << input.status();
  ASSERT_EQ(input->sizes(), torch::IntArrayRef({1, 3, 512, 512}));

  // The normalised input: first 8 values in NHWC order, and its statistics.
  const json& in_fx = fx["intermediates"]["input_normalized"];
  torch::Tensor nhwc = input->permute({0, 2, 3, 1}).contiguous().view(-1);
  for (int i = 0; i < 8; ++i) {
    EXPECT_NEAR(nhwc[i].item<float>(), in_fx["first8"][i].get<float>(), 1e-6) << i;
  }
  EXPECT_NEAR(input->mean().item<float>(), in_fx["mean"].get<float>(), 1e-5);

  SsdMobilenetNet::Output out = detector_->net().Forward(*input);
  ASSERT_EQ(out.scores.sizes(), torch::IntArrayRef({1, fx["num_anchors"].get<int64_t>()}));
  ASSERT_EQ(out.boxes.sizes(), torch::IntArrayRef({1, 5118, 4}));

  const json& all = fx["scores_all"];
  ASSERT_EQ(all.size(), 5118u);
  torch::Tensor expected_scores = torch::empty({5118});
  for (int i = 0; i < 5118; ++i) expected_scores[i] = all[i].get<float>();
  EXPECT_LT((out.scores[0] - expected_scores).abs().max().item<float>(), 1e-3f);

  for (const auto& top : fx["top_anchors"]) {
    const int64_t i = top["index"];
    SCOPED_TRACE("anchor " + std::to_string(i));
    EXPECT_NEAR(out.scores[0][i].item<float>(), top["score"].get<float>(), 1e-4);
    for (int k = 0; k < 4; ++k) {
      EXPECT_NEAR(out.boxes[0][i][k].item<float>(), top["box"][k].get<float>(), 1e-4);
      EXPECT_NEAR(out.box_encodings[0][i][k].item<float>(), top["box_encoding"][k].get<float>(),
                  1e-3);
      EXPECT_NEAR(detector_->net().stored_anchors()[i][k].item<float>(),
                  top["anchor"][k].get<float>(), 1e-6);
    }
    for (int k = 0; k < 3; ++k) {
      EXPECT_NEAR(out.class_logits[0][i][k].item<float>(), top["class_logits"][k].get<float>(),
                  1e-3);
    }
  }

  auto detections = detector_->Detect(image);
  ASSERT_TRUE(detections.ok()) << detections.status();
  ASSERT_EQ(detections->size(), fx["detections"].size());
  for (size_t i = 0; i < detections->size(); ++i) {
    const json& d = fx["detections"][i];
    EXPECT_NEAR((*detections)[i].score, d["score"].get<float>(), 1e-4);
    const cv::Rect2f expected = JsonBox(d["box"]);
    const cv::Rect2f& got = (*detections)[i].box;
    EXPECT_NEAR(got.x, expected.x, 0.05);
    EXPECT_NEAR(got.y, expected.y, 0.05);
    EXPECT_NEAR(got.width, expected.width, 0.05);
    EXPECT_NEAR(got.height, expected.height, 0.05);
  }
}

TEST_F(SsdMobilenetTest, FindsEveryFaceFaceApiFindsOnTheSampleImages) {
  json fx = ReadJson(FixturePath("images.json"));
  int faces = 0;
  float worst_iou = 1, worst_score = 0;
  for (const auto& entry : fx["images"]) {
    const std::string file = std::filesystem::path(entry["file"].get<std::string>()).filename();
    SCOPED_TRACE(file);
    // jpeg-js (face-api's decoder here) applies no EXIF orientation; neither may we.
    cv::Mat image = cv::imread(fsc::testing::DataDir() + "/" + file,
                               cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
    ASSERT_FALSE(image.empty()) << file;
    ASSERT_EQ(image.cols, entry["width"].get<int>());
    ASSERT_EQ(image.rows, entry["height"].get<int>());
    const bool lossless = file.size() > 4 && file.substr(file.size() - 4) == ".png";
    auto detections = detector_->Detect(image);
    ASSERT_TRUE(detections.ok()) << detections.status();
    for (const auto& face : entry["ssd_faces"]) {
      const cv::Rect2f expected = JsonBox(face["box"]);
      const float expected_score = face["score"];
      float best_iou = 0, score = 0;
      for (const Detection& d : *detections) {
        const float iou = IoU(d.box, expected);
        if (iou > best_iou) best_iou = iou, score = d.score;
      }
      // PNG pixels are identical to face-api's; JPEG decoders differ by a few levels per pixel
      // (jpeg-js vs libjpeg-turbo), which moves scores by up to ~1e-2.
      EXPECT_GT(best_iou, lossless ? 0.999f : 0.9f) << "face at " << expected;
      EXPECT_NEAR(score, expected_score, lossless ? 1e-4f : 0.03f) << "face at " << expected;
      worst_iou = std::min(worst_iou, best_iou);
      worst_score = std::max(worst_score, std::abs(score - expected_score));
      ++faces;
    }
    // No extra faces beyond borderline ones that face-api scored just under the threshold.
    int confident = 0;
    for (const Detection& d : *detections) confident += d.score > 0.6f;
    EXPECT_LE(confident, static_cast<int>(entry["ssd_faces"].size()));
  }
  EXPECT_GT(faces, 20);
  std::cout << faces << " face-api faces found; worst IoU " << worst_iou
            << ", worst score difference " << worst_score << "\n";
}

// Megamind.avi (720x528), frame 60: the main face (and a small one in the background). Smaller
// input sizes, which run several times faster, must still find the main face.
TEST_F(SsdMobilenetTest, FindsMegamindAtSmallerInputSizes) {
  cv::VideoCapture video(fsc::testing::DataDir() + "/Megamind.avi");
  ASSERT_TRUE(video.isOpened());
  cv::Mat frame;
  for (int i = 0; i <= 60; ++i) ASSERT_TRUE(video.read(frame));
  auto reference = detector_->Detect(frame);
  ASSERT_TRUE(reference.ok()) << reference.status();
  ASSERT_GE(reference->size(), 1u);
  const Detection& main_face = (*reference)[0];
  EXPECT_GT(main_face.score, 0.7f);
  EXPECT_GT(main_face.box.width, 100);  // the big face in front, not the one in the background
  for (int size : {384, 320, 256}) {
    DetectorOptions options = Options();
    options.input_size = size;
    auto small = SsdMobilenetDetector::Create(options);
    ASSERT_TRUE(small.ok()) << small.status();
    auto detections = (*small)->Detect(frame);
    ASSERT_TRUE(detections.ok()) << detections.status();
    float best = 0;
    for (const Detection& d : *detections) best = std::max(best, IoU(d.box, main_face.box));
    EXPECT_GT(best, 0.7f) << "input size " << size;
  }
}

// Frames that are not 512 px squares: padded at the bottom/right and resized by the detector, the
// boxes must come back in the frame's own pixels.
TEST_F(SsdMobilenetTest, BoxesMapBackToFramePixels) {
  cv::Mat image = cv::imread(fsc::testing::DataDir() + "/astronaut.png", cv::IMREAD_COLOR);
  ASSERT_FALSE(image.empty());
  auto base = detector_->Detect(image);
  ASSERT_TRUE(base.ok()) << base.status();
  ASSERT_EQ(base->size(), 1u);
  const cv::Rect2f face = (*base)[0].box;

  // Twice the size: the network sees (nearly) the same 512 px input; the box doubles.
  cv::Mat big;
  cv::resize(image, big, cv::Size(1024, 1024), 0, 0, cv::INTER_LINEAR);
  auto doubled = detector_->Detect(big);
  ASSERT_TRUE(doubled.ok() && !doubled->empty());
  EXPECT_GT(
      IoU((*doubled)[0].box, cv::Rect2f(2 * face.x, 2 * face.y, 2 * face.width, 2 * face.height)),
      0.9f);

  // Shifted right inside a wider frame (resized 562 -> 512 by the detector).
  cv::Mat wide(512, 562, CV_8UC3, cv::Scalar(0, 0, 0));
  image.copyTo(wide(cv::Rect(50, 0, 512, 512)));
  auto shifted = detector_->Detect(wide);
  ASSERT_TRUE(shifted.ok() && !shifted->empty());
  EXPECT_GT(IoU((*shifted)[0].box, face + cv::Point2f(50, 0)), 0.8f);

  // Cropped to a landscape frame: padded at the bottom, no resize; same box.
  auto cropped = detector_->Detect(image(cv::Rect(0, 0, 512, 400)).clone());
  ASSERT_TRUE(cropped.ok() && !cropped->empty());
  EXPECT_GT(IoU((*cropped)[0].box, face), 0.9f);
  for (const Detection& d : *cropped) {
    EXPECT_LE(d.box.y + d.box.height, 400.0f);  // clipped to the frame
  }
}

TEST(SsdMobilenetErrors, MissingModelIsNotFoundAndNamesSetup) {
  DetectorOptions options;
  options.models_dir = fsc::testing::MakeTempDir("ssd-no-models");
  auto detector = SsdMobilenetDetector::Create(options);
  ASSERT_FALSE(detector.ok());
  EXPECT_EQ(detector.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(detector.status().message().find("ssd_mobilenetv1_model-weights_manifest.json"),
            std::string::npos);
  EXPECT_NE(detector.status().message().find("scripts/setup"), std::string::npos);
  std::filesystem::remove_all(options.models_dir);
}

TEST(SsdMobilenetErrors, BadInputSizeIsInvalidArgument) {
  DetectorOptions options = Options();
  options.input_size = 300;
  auto detector = SsdMobilenetDetector::Create(options);
  ASSERT_FALSE(detector.ok());
  EXPECT_EQ(detector.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(SsdMobilenetTest, EmptyImageIsInvalidArgument) {
  auto detections = detector_->Detect(cv::Mat());
  ASSERT_FALSE(detections.ok());
  EXPECT_EQ(detections.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(SsdMobilenetTest, RegistryBuildsIt) {
  auto detector = CreateDetector("ssd", Options());
  ASSERT_TRUE(detector.ok()) << detector.status();
  EXPECT_EQ((*detector)->name(), "ssd");
}

}  // namespace
}  // namespace fsc::face
