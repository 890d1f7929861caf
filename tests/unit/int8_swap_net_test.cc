// Tests for int8 inference (core/convert/int8_swap_net): the quantised encoder + decoder follow
// the float model closely on real faces (face and learned mask), the error is small against the
// output's own variation (a constant or scrambled output fails), calibration is checked, and the
// precision names parse.
#include "core/convert/int8_swap_net.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/convert/swap_model.h"
#include "core/model/face_swap_model.h"
#include "tests/test_paths.h"

namespace fsc::convert {
namespace {

// A small model of Faceswap's shape (64 px in and out) so the test runs in a second.
model::Architecture SmallArchitecture() {
  model::Architecture arch;
  arch.name = "small";
  arch.input_size = 64;
  arch.encoder_filters = {32, 64, 128};
  arch.dense_dim = 128;
  arch.latent_size = 4;
  arch.latent_channels = 128;
  arch.encoder_upscale = 128;
  arch.decoder_filters = {64, 32, 16};
  return arch;
}

// N x 3 x 64 x 64 crops of a real photo in 0..1, as the converter feeds the model.
torch::Tensor PhotoCrops(int n, int offset) {
  cv::Mat image = cv::imread(fsc::testing::DataDir() + "/astronaut.png", cv::IMREAD_COLOR);
  EXPECT_FALSE(image.empty());
  torch::Tensor batch = torch::empty({n, 3, 64, 64});
  for (int i = 0; i < n; ++i) {
    const int x = (offset + 37 * i) % (image.cols - 160),
              y = (offset + 53 * i) % (image.rows - 160);
    cv::Mat crop, rgb;
    cv::resize(image(cv::Rect(x, y, 160, 160)), crop, cv::Size(64, 64), 0, 0, cv::INTER_AREA);
    cv::cvtColor(crop, rgb, cv::COLOR_BGR2RGB);
    torch::Tensor t = torch::from_blob(rgb.data, {64, 64, 3}, torch::kUInt8).clone();
    batch[i] = t.permute({2, 0, 1}).to(torch::kFloat32) / 255.0;
  }
  return batch;
}

struct Agreement {
  double max_error = 0, mean_error = 0, spread = 0;  // spread: mean |y - mean(y)| of fp32
};

Agreement Compare(const torch::Tensor& int8, const torch::Tensor& fp32) {
  Agreement a;
  torch::Tensor diff = (int8 - fp32).abs();
  a.max_error = diff.max().item<double>();
  a.mean_error = diff.mean().item<double>();
  a.spread = (fp32 - fp32.mean()).abs().mean().item<double>();
  return a;
}

class Int8SwapNetTest : public ::testing::TestWithParam<bool> {};

TEST_P(Int8SwapNetTest, FollowsTheFloatModel) {
  if (!Int8Available()) GTEST_SKIP() << "this LibTorch has no oneDNN quantised engine";
  const bool learn_mask = GetParam();
  model::ModelOptions options;
  options.learn_mask = learn_mask;
  options.seed = 7;
  model::FaceSwapModel model(SmallArchitecture(), options);
  model.eval();
  const torch::Tensor calibration = PhotoCrops(16, 0);
  const torch::Tensor faces = PhotoCrops(8, 500);  // other crops than the calibration's

  for (model::Side side : {model::Side::kA, model::Side::kB}) {
    auto net = Int8SwapNet::Build(model, side, calibration);
    ASSERT_TRUE(net.ok()) << net.status();
    model::DecoderOutput q = (*net)->Forward(faces);
    model::DecoderOutput f;
    {
      torch::NoGradGuard no_grad;
      f = model.Forward(faces, side);
    }
    ASSERT_EQ(q.face.sizes(), f.face.sizes());
    Agreement face = Compare(q.face, f.face);
    std::printf("side %s face: max error %.5f, mean %.5f, output spread %.5f\n",
                model::SideName(side), face.max_error, face.mean_error, face.spread);
    EXPECT_LT(face.mean_error, 0.1 * face.spread);
    EXPECT_LT(face.max_error, 0.05);
    EXPECT_GT(face.spread, 1e-4);  // the float model's output does vary over faces
    if (learn_mask) {
      ASSERT_TRUE(q.mask.defined());
      ASSERT_EQ(q.mask.sizes(), f.mask.sizes());
      Agreement mask = Compare(q.mask, f.mask);
      EXPECT_LT(mask.mean_error, 0.1 * mask.spread);
      EXPECT_LT(mask.max_error, 0.05);
    } else {
      EXPECT_FALSE(q.mask.defined());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Mask, Int8SwapNetTest, ::testing::Values(false, true));

TEST(Int8SwapNet, RejectsCalibrationOfTheWrongShape) {
  if (!Int8Available()) GTEST_SKIP() << "this LibTorch has no oneDNN quantised engine";
  model::FaceSwapModel model(SmallArchitecture(), model::ModelOptions{});
  auto net = Int8SwapNet::Build(model, model::Side::kA, torch::rand({2, 3, 32, 32}));
  ASSERT_FALSE(net.ok());
  EXPECT_EQ(net.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(net.status().message().find("64"), std::string::npos) << net.status();
}

TEST(InferencePrecision, ParsesNamesAndResolvesAuto) {
  EXPECT_EQ(*ParseInferencePrecision("int8"), InferencePrecision::kInt8);
  EXPECT_EQ(*ParseInferencePrecision("bf16"), InferencePrecision::kBf16);
  EXPECT_EQ(*ParseInferencePrecision("fp32"), InferencePrecision::kFp32);
  auto bad = ParseInferencePrecision("int4");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  auto resolved = ParseInferencePrecision("auto");
  ASSERT_TRUE(resolved.ok());
  if (Int8Available() && CpuHasInt8DotProduct()) {
    EXPECT_EQ(*resolved, InferencePrecision::kInt8);
  } else {
    EXPECT_NE(*resolved, InferencePrecision::kInt8);
  }
}

}  // namespace
}  // namespace fsc::convert
