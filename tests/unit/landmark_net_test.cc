// Tests of the 68-point landmark net against face-api itself (fixtures made by
// scripts/fixtures from face-api 1.7.15 under node): raw outputs on an exact 112x112 input, and
// landmarks on the sample photos given face-api's own detection boxes.
#include "core/face/landmark_net.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/face/faceapi_face_input.h"
#include "core/face/landmark_net_module.h"
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

// Normalized mean error: mean point distance over the outer eye corner distance (36-45) of `ref`.
double Nme(const Landmarks& got, const nlohmann::json& ref) {
  double sum = 0;
  for (int p = 0; p < 68; ++p) {
    sum += std::hypot(got[p].x - ref[p][0].get<double>(), got[p].y - ref[p][1].get<double>());
  }
  const double eyes = std::hypot(ref[36][0].get<double>() - ref[45][0].get<double>(),
                                 ref[36][1].get<double>() - ref[45][1].get<double>());
  return sum / 68 / eyes;
}

class LandmarkNetTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto net = LandmarkNet::Load(testing::ModelsDir());
    ASSERT_TRUE(net.ok()) << net.status();
    net_ = std::move(net).value().release();
  }
  static void TearDownTestSuite() {
    delete net_;
    net_ = nullptr;
  }
  static LandmarkNet* net_;
};
LandmarkNet* LandmarkNetTest::net_ = nullptr;

TEST(LandmarkNetLoad, MissingModelIsNotFound) {
  const std::string dir = testing::MakeTempDir("landmark_net_test");
  auto net = LandmarkNet::Load(dir);
  ASSERT_EQ(net.status().code(), absl::StatusCode::kNotFound) << net.status();
  EXPECT_NE(net.status().message().find("face_landmark_68_model-weights_manifest.json"),
            std::string::npos);
  EXPECT_NE(net.status().message().find("scripts/setup"), std::string::npos);
}

TEST(LandmarkNetwork, RawOutputsMatchFaceApi) {
  // The exact 112x112 input face-api ran on: preprocessing and network checked separately.
  const nlohmann::json fixture = ReadJson(FixtureDir() + "face_landmark_68.json");
  const cv::Mat image = ReadImage(FixtureDir() + "landmark_input.png");
  ASSERT_EQ(image.size(), cv::Size(112, 112));
  torch::Tensor input = torch::empty({1, 112, 112, 3});
  WriteFaceApiInput(image, FaceApiCrop{0, 0, 112, 112}, 112, input.data_ptr<float>());
  input = input.permute({0, 3, 1, 2});
  // face-api's normalized input, first 8 values in NHWC order (pixels 0..2, RGB each).
  const auto& first8 = fixture["intermediates"]["input_normalized"]["first8"];
  for (int k = 0; k < 8; ++k) {
    EXPECT_FLOAT_EQ(input[0][k % 3][0][k / 3].item<float>(), first8[k].get<float>()) << k;
  }

  auto weights = TfjsWeights::Load(testing::ModelsDir() +
                                   "/face-api/model/face_landmark_68_model-weights_manifest.json");
  ASSERT_TRUE(weights.ok()) << weights.status();
  auto network = LandmarkNetwork::FromWeights(*weights);
  ASSERT_TRUE(network.ok()) << network.status();
  torch::NoGradGuard no_grad;
  torch::Tensor out = network->Forward(input);
  ASSERT_EQ(out.sizes().vec(), (std::vector<int64_t>{1, 136}));
  const auto& raw = fixture["raw_output"];
  double max_diff = 0;
  for (int k = 0; k < 136; ++k) {
    max_diff = std::max(max_diff, std::abs(out[0][k].item<double>() - raw[k].get<double>()));
  }
  std::printf("landmark net raw outputs: max |fsc - face-api| = %.3g (x112 = %.3g px)\n", max_diff,
              max_diff * 112);
  // The fixture holds 7 significant digits; float32 kernels differ in summation order.
  EXPECT_LT(max_diff, 2e-6);
}

TEST_F(LandmarkNetTest, PixelLandmarksOnExactInputMatchFaceApi) {
  const nlohmann::json fixture = ReadJson(FixtureDir() + "face_landmark_68.json");
  const cv::Mat image = ReadImage(FixtureDir() + "landmark_input.png");
  auto landmarks = net_->Predict(image, {cv::Rect2f(0, 0, 112, 112)});
  ASSERT_TRUE(landmarks.ok()) << landmarks.status();
  ASSERT_EQ(landmarks->size(), 1u);
  ASSERT_EQ((*landmarks)[0].size(), 68u);
  const auto& ref = fixture["landmarks_px"];
  double max_err = 0;
  for (int p = 0; p < 68; ++p) {
    max_err = std::max(max_err, std::hypot((*landmarks)[0][p].x - ref[p][0].get<double>(),
                                           (*landmarks)[0][p].y - ref[p][1].get<double>()));
  }
  std::printf("landmarks on the 112x112 input: max error %.3g px\n", max_err);
  EXPECT_LT(max_err, 1e-3);
}

TEST_F(LandmarkNetTest, SampleImagesMatchFaceApiGivenItsBoxes) {
  const nlohmann::json fixture = ReadJson(FixtureDir() + "images.json");
  double worst_nme = 0, sum_nme = 0;
  int faces = 0;
  for (const auto& entry : fixture["images"]) {
    const std::string file = entry["file"];
    const cv::Mat image = ReadImage(testing::SourceDir() + "/" + file);
    ASSERT_EQ(image.cols, entry["width"].get<int>()) << file;
    std::vector<cv::Rect2f> boxes;
    for (const auto& face : entry["ssd_faces"]) {
      const auto& b = face["box"];
      boxes.emplace_back(b[0].get<float>(), b[1].get<float>(), b[2].get<float>(),
                         b[3].get<float>());
      // The integer crop face-api fed its net.
      const FaceApiCrop crop =
          ClipAtImageBorders(b[0].get<double>(), b[1].get<double>(), b[2].get<double>(),
                             b[3].get<double>(), image.cols, image.rows);
      const auto& c = face["landmark_crop"];
      EXPECT_EQ(std::vector<int>({crop.x, crop.y, crop.width, crop.height}),
                c.get<std::vector<int>>())
          << file;
    }
    ASSERT_FALSE(boxes.empty()) << file;
    auto landmarks = net_->Predict(image, boxes);  // all faces of the image in one batch
    ASSERT_TRUE(landmarks.ok()) << landmarks.status();
    ASSERT_EQ(landmarks->size(), boxes.size());
    double image_worst = 0;
    for (size_t i = 0; i < boxes.size(); ++i) {
      const double nme = Nme((*landmarks)[i], entry["ssd_faces"][i]["landmarks"]);
      image_worst = std::max(image_worst, nme);
      sum_nme += nme;
      ++faces;
      EXPECT_LT(nme, 0.02) << file << " face " << i;
    }
    worst_nme = std::max(worst_nme, image_worst);
    std::printf("%-20s %2zu faces, worst NME vs face-api %.3g %%\n", file.c_str(), boxes.size(),
                image_worst * 100);
  }
  std::printf("all %d faces: mean NME %.3g %%, worst %.3g %%\n", faces, sum_nme / faces * 100,
              worst_nme * 100);
}

TEST_F(LandmarkNetTest, LosslessImageMatchesFaceApiToSubPixel) {
  // astronaut.png decodes identically everywhere (JPEG decoders differ by a few levels), so there
  // the landmarks must agree to a small fraction of a pixel.
  const nlohmann::json fixture = ReadJson(FixtureDir() + "images.json");
  for (const auto& entry : fixture["images"]) {
    if (entry["file"] != "data/astronaut.png") continue;
    const cv::Mat image = ReadImage(testing::DataDir() + "/astronaut.png");
    for (const auto& face : entry["ssd_faces"]) {
      const auto& b = face["box"];
      auto landmarks = net_->Predict(image, {cv::Rect2f(b[0].get<float>(), b[1].get<float>(),
                                                        b[2].get<float>(), b[3].get<float>())});
      ASSERT_TRUE(landmarks.ok()) << landmarks.status();
      double max_err = 0;
      for (int p = 0; p < 68; ++p) {
        max_err = std::max(
            max_err, std::hypot((*landmarks)[0][p].x - face["landmarks"][p][0].get<double>(),
                                (*landmarks)[0][p].y - face["landmarks"][p][1].get<double>()));
      }
      std::printf("astronaut.png: max landmark error vs face-api %.3g px\n", max_err);
      EXPECT_LT(max_err, 0.01);
    }
    return;
  }
  FAIL() << "astronaut.png missing from images.json";
}

double CpuMs() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

// Boxes around the astronaut's face, varied so that crops are non-square with odd and even size
// differences, some need resizing up, some down.
std::vector<cv::Rect2f> AstronautBoxes() {
  return {{181.1f, 72.9f, 83.3f, 101.7f}, {170.5f, 60.2f, 110.f, 120.f}, {190.f, 80.f, 64.f, 90.f},
          {160.f, 50.f, 140.f, 140.f},    {175.3f, 70.7f, 95.f, 92.f},   {185.f, 75.f, 75.f, 111.f},
          {150.f, 40.f, 160.f, 181.f},    {178.9f, 68.1f, 88.f, 105.f}};
}

TEST_F(LandmarkNetTest, BatchEqualsOneByOneAndPrintsSpeed) {
  const cv::Mat image = ReadImage(testing::DataDir() + "/astronaut.png");
  const std::vector<cv::Rect2f> boxes = AstronautBoxes();
  auto batch = net_->Predict(image, boxes);
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_EQ(batch->size(), boxes.size());
  for (size_t i = 0; i < boxes.size(); ++i) {
    auto single = net_->Predict(image, {boxes[i]});
    ASSERT_TRUE(single.ok()) << single.status();
    for (int p = 0; p < 68; ++p) {
      EXPECT_NEAR((*batch)[i][p].x, (*single)[0][p].x, 1e-3) << "box " << i << " point " << p;
      EXPECT_NEAR((*batch)[i][p].y, (*single)[0][p].y, 1e-3) << "box " << i << " point " << p;
    }
    // Plausible geometry: inside the box's neighbourhood, eyes above the mouth, left eye left.
    const Landmarks& lm = (*batch)[i];
    EXPECT_LT(lm[36].x, lm[45].x);
    EXPECT_LT(lm[36].y, lm[57].y);
    const float margin = 0.35f * std::max(boxes[i].width, boxes[i].height);
    const cv::Rect2f grown(boxes[i].x - margin, boxes[i].y - margin, boxes[i].width + 2 * margin,
                           boxes[i].height + 2 * margin);
    for (const cv::Point2f& p : lm) EXPECT_TRUE(grown.contains(p)) << "box " << i;
  }

  // Speed on one thread (informational; tests never assert on time). Process CPU time rather
  // than wall time, so that other load on a shared machine disturbs the figure less.
  const int threads = torch::get_num_threads();
  torch::set_num_threads(1);
  for (size_t batch_size : {size_t{1}, size_t{8}}) {
    const std::vector<cv::Rect2f> some(boxes.begin(), boxes.begin() + batch_size);
    ASSERT_TRUE(net_->Predict(image, some).ok());  // warm-up
    const int reps = batch_size == 1 ? 24 : 3;
    const double start = CpuMs();
    for (int r = 0; r < reps; ++r) ASSERT_TRUE(net_->Predict(image, some).ok());
    std::printf("landmark net, 1 thread, batch %zu: %.2f ms CPU per face\n", batch_size,
                (CpuMs() - start) / reps / batch_size);
  }
  torch::set_num_threads(threads);
}

TEST_F(LandmarkNetTest, OtherChannelLayoutsAreConverted) {
  const cv::Mat image = ReadImage(testing::DataDir() + "/astronaut.png");
  const std::vector<cv::Rect2f> box = {AstronautBoxes()[0]};
  cv::Mat bgra, gray, gray_bgr;
  cv::cvtColor(image, bgra, cv::COLOR_BGR2BGRA);
  cv::cvtColor(image, gray, cv::COLOR_BGR2GRAY);
  cv::cvtColor(gray, gray_bgr, cv::COLOR_GRAY2BGR);
  auto from_bgr = net_->Predict(image, box);
  auto from_bgra = net_->Predict(bgra, box);
  auto from_gray = net_->Predict(gray, box);
  auto from_gray_bgr = net_->Predict(gray_bgr, box);
  ASSERT_TRUE(from_bgr.ok() && from_bgra.ok() && from_gray.ok() && from_gray_bgr.ok());
  for (int p = 0; p < 68; ++p) {
    EXPECT_EQ((*from_bgr)[0][p], (*from_bgra)[0][p]);
    EXPECT_EQ((*from_gray)[0][p], (*from_gray_bgr)[0][p]);
  }
}

TEST_F(LandmarkNetTest, RejectsBadInput) {
  const cv::Mat image = ReadImage(testing::DataDir() + "/astronaut.png");
  const cv::Rect2f good = AstronautBoxes()[0];
  auto code = [&](const cv::Mat& img, const std::vector<cv::Rect2f>& boxes) {
    return net_->Predict(img, boxes).status().code();
  };
  EXPECT_EQ(code(cv::Mat(), {good}), absl::StatusCode::kInvalidArgument);
  cv::Mat float_image;
  image.convertTo(float_image, CV_32F);
  EXPECT_EQ(code(float_image, {good}), absl::StatusCode::kInvalidArgument);
  const float nan = std::nanf("");
  EXPECT_EQ(code(image, {good, cv::Rect2f(nan, 10, 50, 50)}), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(image, {cv::Rect2f(10, 10, 0, 50)}), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(image, {cv::Rect2f(10, 10, 50, -5)}), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(image, {cv::Rect2f(600, 10, 50, 50)}), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(image, {cv::Rect2f(-100, 10, 50, 50)}), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(image, {cv::Rect2f(1e30f, 10, 1e30f, 50)}), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(image, {cv::Rect2f(10, 10, 0.5f, 50)}), absl::StatusCode::kInvalidArgument);
  // No boxes: no landmarks, not an error.
  auto none = net_->Predict(image, {});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  // A box partly outside the image is cropped, and its landmarks stay in image pixels.
  auto partial = net_->Predict(image, {cv::Rect2f(-20, -10, 120, 130)});
  ASSERT_TRUE(partial.ok()) << partial.status();
  for (const cv::Point2f& p : (*partial)[0]) {
    EXPECT_GT(p.x, -30);
    EXPECT_LT(p.x, 110);
  }
}

}  // namespace
}  // namespace fsc::face
