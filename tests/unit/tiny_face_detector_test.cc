// The Tiny Face Detector against face-api itself: raw grid outputs on astronaut.png at 512 (fed as
// is) and 416 (through TF's bilinear resize) from tests/fixtures/faceapi/tiny_face_detector.json,
// end-to-end detections on the sample photos (images.json), Megamind.avi, and error paths; and the
// square input tensor both detectors share.
#include "core/face/tiny_face_detector.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

#include "core/face/nms.h"
#include "tests/test_paths.h"

namespace fsc::face {
namespace {

using nlohmann::json;

using ::fsc::testing::ReadJson;

std::string FixturePath(const std::string& name) { return fsc::testing::FaceApiFixture(name); }

// face-api's settings for this detector: NMS IoU 0.4.
DetectorOptions Options(int input_size = 0) {
  DetectorOptions options;
  options.models_dir = fsc::testing::ModelsDir();
  options.input_size = input_size;
  options.iou_threshold = TinyFaceNet::kFaceApiIouThreshold;
  return options;
}

cv::Rect2f JsonBox(const json& b) {
  return cv::Rect2f(b[0].get<float>(), b[1].get<float>(), b[2].get<float>(), b[3].get<float>());
}

std::unique_ptr<TinyFaceDetector> MakeDetector(int input_size = 0) {
  auto detector = TinyFaceDetector::Create(Options(input_size));
  EXPECT_TRUE(detector.ok()) << detector.status();
  return detector.ok() ? std::move(*detector) : nullptr;
}

// The detectors' input (core/face/image_tensor.h): zero padding at the bottom/right to a square,
// then TF's legacy bilinear resize, which samples source pixel dst * scale (OpenCV's resize would
// sample (dst + 0.5) * scale - 0.5 and give other values).
TEST(SquareInputTensor, PadsBottomRightAndResizesLikeTensorFlow) {
  // 3 wide, 2 high; R = 40 y + 10 x, G = 100, B = 7 (OpenCV stores B, G, R).
  cv::Mat image(2, 3, CV_8UC3);
  for (int y = 0; y < 2; ++y) {
    for (int x = 0; x < 3; ++x) image.at<cv::Vec3b>(y, x) = cv::Vec3b(7, 100, 40 * y + 10 * x);
  }
  SquareInputGeometry geo;
  auto same = ToSquareInputTensor(image, 3, InputNormalization(), &geo);
  ASSERT_TRUE(same.ok()) << same.status();
  ASSERT_EQ(same->sizes(), torch::IntArrayRef({1, 3, 3, 3}));
  EXPECT_TRUE(same->is_contiguous(at::MemoryFormat::ChannelsLast));
  EXPECT_EQ(geo.reshaped_width, 3);
  EXPECT_EQ(geo.reshaped_height, 2);
  EXPECT_FLOAT_EQ((*same)[0][0][1][2].item<float>(), 60);  // R at y 1, x 2
  EXPECT_FLOAT_EQ((*same)[0][1][0][0].item<float>(), 100);
  EXPECT_FLOAT_EQ((*same)[0][2][1][1].item<float>(), 7);
  EXPECT_FLOAT_EQ((*same)[0][1][2][0].item<float>(), 0);  // padding row

  auto up = ToSquareInputTensor(image, 6, InputNormalization(), &geo);
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_EQ(geo.reshaped_width, 6);
  EXPECT_EQ(geo.reshaped_height, 4);
  torch::Tensor r = (*up)[0][0];
  EXPECT_FLOAT_EQ(r[1][1].item<float>(), 25);  // source (0.5, 0.5): mean of 0, 10, 40, 50
  EXPECT_FLOAT_EQ(r[0][5].item<float>(), 20);  // source x 2.5 clamps to the last column
  EXPECT_FLOAT_EQ(r[3][0].item<float>(), 20);  // source y 1.5: halfway to the zero padding
  EXPECT_FLOAT_EQ((*up)[0][1][3][0].item<float>(), 50);
  EXPECT_FLOAT_EQ(r[5][2].item<float>(), 0);  // all padding

  InputNormalization norm;  // the SSD's: v / 127.5 - 1
  norm.mean_rgb = {127.5f, 127.5f, 127.5f};
  norm.scale = 1 / 127.5f;
  auto normalized = ToSquareInputTensor(image, 3, norm, nullptr);
  ASSERT_TRUE(normalized.ok());
  EXPECT_FLOAT_EQ((*normalized)[0][1][0][0].item<float>(), 100 / 127.5f - 1);
  EXPECT_FLOAT_EQ((*normalized)[0][0][2][2].item<float>(), -1);

  EXPECT_EQ(ToSquareInputTensor(cv::Mat(), 3, norm).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ToSquareInputTensor(cv::Mat(2, 2, CV_32FC3), 3, norm).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TinyFaceDetector, ReadsEveryManifestWeight) {
  json manifest = ReadJson(fsc::testing::ModelsDir() +
                           "/face-api/model/tiny_face_detector_model-weights_manifest.json");
  int64_t expected = 0;
  for (const auto& group : manifest) {
    for (const auto& w : group["weights"]) {
      int64_t n = 1;
      for (int64_t d : w["shape"]) n *= d;
      expected += n;
    }
  }
  auto detector = MakeDetector();
  ASSERT_NE(detector, nullptr);
  EXPECT_EQ(detector->net().num_weights(), expected);
  EXPECT_EQ(detector->input_size(), 416);
}

// Checks one fixture section ("input_512" or "input_416") against our net on astronaut.png.
void CheckRawOutputs(const json& section, int input_size) {
  SCOPED_TRACE("input size " + std::to_string(input_size));
  auto detector = MakeDetector(input_size);
  ASSERT_NE(detector, nullptr);
  cv::Mat image = cv::imread(fsc::testing::DataDir() + "/astronaut.png", cv::IMREAD_COLOR);
  ASSERT_FALSE(image.empty());
  SquareInputGeometry geo;
  auto input = detector->Preprocess(image, &geo);
  ASSERT_TRUE(input.ok()) << input.status();
  torch::Tensor out = detector->net().Forward(*input);
  const int64_t grid = section["grid"];
  ASSERT_EQ(out.sizes(), torch::IntArrayRef({1, 25, grid, grid}));

  // face-api reports NHWC; compare in that order.
  torch::Tensor nhwc = out.permute({0, 2, 3, 1}).contiguous();
  const json& stats = section["raw_output_stats"];
  torch::Tensor flat = nhwc.view(-1);
  for (int i = 0; i < 8; ++i) {
    EXPECT_NEAR(flat[i].item<float>(), stats["first8"][i].get<float>(), 1e-3) << i;
  }
  EXPECT_NEAR(nhwc.mean().item<float>(), stats["mean"].get<float>(), 1e-3);
  EXPECT_NEAR(nhwc.std().item<float>(), stats["std"].get<float>(), 1e-3);
  EXPECT_NEAR(nhwc.min().item<float>(), stats["min"].get<float>(), 1e-3);
  EXPECT_NEAR(nhwc.max().item<float>(), stats["max"].get<float>(), 1e-3);

  std::vector<TinyFaceNet::Candidate> decoded = TinyFaceNet::DecodeGrid(out[0], geo, 0.0f);
  ASSERT_EQ(decoded.size(), static_cast<size_t>(grid * grid * TinyFaceNet::kNumAnchors));
  for (const auto& top : section["top"]) {
    const int64_t row = top["row"], col = top["col"], anchor = top["anchor"];
    SCOPED_TRACE("cell " + std::to_string(row) + "," + std::to_string(col) + " anchor " +
                 std::to_string(anchor));
    for (int k = 0; k < 5; ++k) {
      EXPECT_NEAR(nhwc[0][row][col][anchor * 5 + k].item<float>(), top["raw"][k].get<float>(),
                  1e-3);
    }
    const auto& cand = decoded[(row * grid + col) * TinyFaceNet::kNumAnchors + anchor];
    EXPECT_NEAR(cand.score, top["score"].get<float>(), 1e-4);
    const cv::Rect2f box = JsonBox(top["box"]);
    EXPECT_NEAR(cand.relative_box.x, box.x, 1e-4);
    EXPECT_NEAR(cand.relative_box.y, box.y, 1e-4);
    EXPECT_NEAR(cand.relative_box.width, box.width, 1e-4);
    EXPECT_NEAR(cand.relative_box.height, box.height, 1e-4);
  }

  auto detections = detector->Detect(image);
  ASSERT_TRUE(detections.ok()) << detections.status();
  ASSERT_EQ(detections->size(), section["detections"].size());
  for (size_t i = 0; i < detections->size(); ++i) {
    const json& d = section["detections"][i];
    EXPECT_NEAR((*detections)[i].score, d["score"].get<float>(), 1e-4);
    const cv::Rect2f expected = JsonBox(d["box"]);
    const cv::Rect2f& got = (*detections)[i].box;
    EXPECT_NEAR(got.x, expected.x, 0.05);
    EXPECT_NEAR(got.y, expected.y, 0.05);
    EXPECT_NEAR(got.width, expected.width, 0.05);
    EXPECT_NEAR(got.height, expected.height, 0.05);
  }
}

TEST(TinyFaceDetector, RawOutputsMatchFaceApiOnAstronautAt512) {
  json fx = ReadJson(FixturePath("tiny_face_detector.json"));
  CheckRawOutputs(fx["input_512"], 512);
}

// 512 -> 416 goes through the TF-compatible bilinear resize.
TEST(TinyFaceDetector, RawOutputsMatchFaceApiOnAstronautAt416) {
  json fx = ReadJson(FixturePath("tiny_face_detector.json"));
  CheckRawOutputs(fx["input_416"], 416);
}

TEST(TinyFaceDetector, FindsEveryFaceFaceApiFindsOnTheSampleImages) {
  json fx = ReadJson(FixturePath("images.json"));
  auto detector = MakeDetector();
  ASSERT_NE(detector, nullptr);
  int faces = 0;
  float worst_iou = 1, worst_score = 0;
  for (const auto& entry : fx["images"]) {
    const std::string file = std::filesystem::path(entry["file"].get<std::string>()).filename();
    SCOPED_TRACE(file);
    cv::Mat image = cv::imread(fsc::testing::DataDir() + "/" + file,
                               cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
    ASSERT_FALSE(image.empty()) << file;
    ASSERT_EQ(image.cols, entry["width"].get<int>());
    const bool lossless = file.size() > 4 && file.substr(file.size() - 4) == ".png";
    auto detections = detector->Detect(image);
    ASSERT_TRUE(detections.ok()) << detections.status();
    for (const auto& face : entry["tiny_faces"]) {
      const cv::Rect2f expected = JsonBox(face["box"]);
      const float expected_score = face["score"];
      float best_iou = 0, score = 0;
      for (const Detection& d : *detections) {
        const float iou = IoU(d.box, expected);
        if (iou > best_iou) best_iou = iou, score = d.score;
      }
      // JPEG: jpeg-js and libjpeg-turbo differ by a few levels per pixel.
      EXPECT_GT(best_iou, lossless ? 0.999f : 0.9f) << "face at " << expected;
      EXPECT_NEAR(score, expected_score, lossless ? 1e-4f : 0.03f) << "face at " << expected;
      worst_iou = std::min(worst_iou, best_iou);
      worst_score = std::max(worst_score, std::abs(score - expected_score));
      ++faces;
    }
    int confident = 0;
    for (const Detection& d : *detections) confident += d.score > 0.6f;
    EXPECT_LE(confident, static_cast<int>(entry["tiny_faces"].size()));
  }
  EXPECT_GT(faces, 15);
  std::cout << faces << " face-api faces found; worst IoU " << worst_iou
            << ", worst score difference " << worst_score << "\n";
}

TEST(TinyFaceDetector, FindsMegamindAtSeveralInputSizes) {
  cv::VideoCapture video(fsc::testing::DataDir() + "/Megamind.avi");
  ASSERT_TRUE(video.isOpened());
  cv::Mat frame;
  for (int i = 0; i <= 210; ++i) ASSERT_TRUE(video.read(frame));
  // Frame 210: a close-up of the face, roughly x 260..520, y 80..390.
  const cv::Rect2f face(262, 105, 259, 276);
  for (int size : {416, 320, 256}) {
    auto detector = MakeDetector(size);
    ASSERT_NE(detector, nullptr);
    auto detections = detector->Detect(frame);
    ASSERT_TRUE(detections.ok()) << detections.status();
    ASSERT_FALSE(detections->empty()) << "input size " << size;
    EXPECT_GT(IoU((*detections)[0].box, face), 0.5f) << "input size " << size;
  }
}

TEST(TinyFaceDetector, MissingModelIsNotFoundAndNamesSetup) {
  DetectorOptions options;
  options.models_dir = fsc::testing::MakeTempDir("tiny-no-models");
  auto detector = TinyFaceDetector::Create(options);
  ASSERT_FALSE(detector.ok());
  EXPECT_EQ(detector.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(detector.status().message().find("tiny_face_detector_model-weights_manifest.json"),
            std::string::npos);
  EXPECT_NE(detector.status().message().find("scripts/setup"), std::string::npos);
  std::filesystem::remove_all(options.models_dir);
}

TEST(TinyFaceDetector, BadInputSizeAndEmptyImageAreInvalidArgument) {
  auto bad = TinyFaceDetector::Create(Options(100));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  auto detector = MakeDetector();
  ASSERT_NE(detector, nullptr);
  auto detections = detector->Detect(cv::Mat());
  ASSERT_FALSE(detections.ok());
  EXPECT_EQ(detections.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TinyFaceDetector, RegistryBuildsIt) {
  auto detector = CreateDetector("tiny", Options());
  ASSERT_TRUE(detector.ok()) << detector.status();
  EXPECT_EQ((*detector)->name(), "tiny");
}

}  // namespace
}  // namespace fsc::face
