// Tests of the TF.js weight manifest loader: dequantization, layout transposes, error codes on
// broken files, and the real face-api manifests.
#include "core/face/tfjs_weights.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/test_paths.h"

namespace fsc::face {
namespace {

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

// A manifest with three tensors in two groups: a uint8-quantized 2x3 "q", a plain float32 "f"
// (group 1, shard a.bin) and an int32 "i" (group 2, shard b.bin).
class SmallManifest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("tfjs_weights_test");
    nlohmann::json manifest = nlohmann::json::array();
    manifest.push_back({{"paths", {"a.bin"}},
                        {"weights",
                         {{{"name", "q"},
                           {"shape", {2, 3}},
                           {"dtype", "float32"},
                           {"quantization", {{"dtype", "uint8"}, {"scale", 0.5}, {"min", -1.25}}}},
                          {{"name", "f"}, {"shape", {2}}, {"dtype", "float32"}}}}});
    manifest.push_back(
        {{"paths", {"b.bin"}}, {"weights", {{{"name", "i"}, {"shape", {3}}, {"dtype", "int32"}}}}});
    WriteBytes(dir_ + "/m.json", manifest.dump());
    a_bin_ = std::string{0, 1, 2, 3, 100, static_cast<char>(255)};
    const float floats[2] = {3.5f, -0.125f};
    a_bin_.append(reinterpret_cast<const char*>(floats), sizeof(floats));
    WriteBytes(dir_ + "/a.bin", a_bin_);
    const int32_t ints[3] = {-7, 0, 123456};
    WriteBytes(dir_ + "/b.bin", std::string(reinterpret_cast<const char*>(ints), sizeof(ints)));
  }

  std::string dir_;
  std::string a_bin_;
};

TEST_F(SmallManifest, DequantizesAndKeepsOrder) {
  auto weights = TfjsWeights::Load(dir_ + "/m.json");
  ASSERT_TRUE(weights.ok()) << weights.status();
  EXPECT_EQ(weights->names(), (std::vector<std::string>{"q", "f", "i"}));

  auto q = weights->Get("q", {2, 3});
  ASSERT_TRUE(q.ok()) << q.status();
  const std::vector<uint8_t> raw = {0, 1, 2, 3, 100, 255};
  for (int k = 0; k < 6; ++k) {
    EXPECT_FLOAT_EQ(q->flatten()[k].item<float>(), raw[k] * 0.5f - 1.25f) << "element " << k;
  }
  EXPECT_EQ(q->dtype(), torch::kFloat32);

  auto f = weights->Get("f");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_FLOAT_EQ((*f)[0].item<float>(), 3.5f);
  EXPECT_FLOAT_EQ((*f)[1].item<float>(), -0.125f);

  auto i = weights->Get("i", {3});
  ASSERT_TRUE(i.ok()) << i.status();
  EXPECT_EQ(i->dtype(), torch::kFloat32);
  EXPECT_FLOAT_EQ((*i)[0].item<float>(), -7.0f);
  EXPECT_FLOAT_EQ((*i)[2].item<float>(), 123456.0f);
}

TEST_F(SmallManifest, GetReportsUnknownNamesAndWrongShapes) {
  auto weights = TfjsWeights::Load(dir_ + "/m.json");
  ASSERT_TRUE(weights.ok()) << weights.status();
  EXPECT_TRUE(weights->Has("q"));
  EXPECT_FALSE(weights->Has("nope"));
  auto missing = weights->Get("nope");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("nope"), std::string::npos);
  auto wrong = weights->Get("q", {3, 2});
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(wrong.status().message().find("[2,3]"), std::string::npos) << wrong.status();
}

TEST_F(SmallManifest, TruncatedShardIsDataLoss) {
  WriteBytes(dir_ + "/a.bin", a_bin_.substr(0, a_bin_.size() - 3));
  auto weights = TfjsWeights::Load(dir_ + "/m.json");
  EXPECT_EQ(weights.status().code(), absl::StatusCode::kDataLoss) << weights.status();
  EXPECT_NE(weights.status().message().find("truncated"), std::string::npos) << weights.status();
}

TEST_F(SmallManifest, OversizedShardIsDataLoss) {
  WriteBytes(dir_ + "/a.bin", a_bin_ + "xyz");
  auto weights = TfjsWeights::Load(dir_ + "/m.json");
  EXPECT_EQ(weights.status().code(), absl::StatusCode::kDataLoss) << weights.status();
}

TEST_F(SmallManifest, MissingFilesAreNotFound) {
  auto no_manifest = TfjsWeights::Load(dir_ + "/absent.json");
  EXPECT_EQ(no_manifest.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(no_manifest.status().message().find("absent.json"), std::string::npos);
  EXPECT_NE(no_manifest.status().message().find("scripts/setup"), std::string::npos);

  std::remove((dir_ + "/b.bin").c_str());
  auto no_shard = TfjsWeights::Load(dir_ + "/m.json");
  EXPECT_EQ(no_shard.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(no_shard.status().message().find("b.bin"), std::string::npos) << no_shard.status();
}

TEST_F(SmallManifest, MalformedManifestIsInvalidArgument) {
  WriteBytes(dir_ + "/m.json", "{\"not\": \"an array\"}");
  EXPECT_EQ(TfjsWeights::Load(dir_ + "/m.json").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TfjsLayout, ConvWeightIsOihw) {
  // HWIO 2x3x4x5 with distinct values: element [h][w][i][o] must land at [o][i][h][w].
  torch::Tensor hwio = torch::arange(2 * 3 * 4 * 5, torch::kFloat32).reshape({2, 3, 4, 5});
  torch::Tensor oihw = ToConvWeight(hwio);
  ASSERT_EQ(oihw.sizes().vec(), (std::vector<int64_t>{5, 4, 2, 3}));
  EXPECT_TRUE(oihw.is_contiguous());
  for (int h = 0; h < 2; ++h)
    for (int w = 0; w < 3; ++w)
      for (int i = 0; i < 4; ++i)
        for (int o = 0; o < 5; ++o)
          ASSERT_EQ(oihw[o][i][h][w].item<float>(), hwio[h][w][i][o].item<float>());
}

TEST(TfjsLayout, DepthwiseWeightIsC1hw) {
  torch::Tensor hwc1 = torch::arange(3 * 3 * 6, torch::kFloat32).reshape({3, 3, 6, 1});
  torch::Tensor c1hw = ToDepthwiseWeight(hwc1);
  ASSERT_EQ(c1hw.sizes().vec(), (std::vector<int64_t>{6, 1, 3, 3}));
  EXPECT_TRUE(c1hw.is_contiguous());
  for (int h = 0; h < 3; ++h)
    for (int w = 0; w < 3; ++w)
      for (int c = 0; c < 6; ++c)
        ASSERT_EQ(c1hw[c][0][h][w].item<float>(), hwc1[h][w][c][0].item<float>());
}

TEST(TfjsLayout, ConvWeightAgreesWithTfConvolution) {
  // A 2x2 HWIO filter on a 1-channel 2x2 input, computed by hand the TF way
  // (out[o] = sum_hwi x[h][w][i] * f[h][w][i][o]), must equal torch's conv2d with the converted
  // weight.
  torch::Tensor hwio =
      torch::tensor({1.f, -2.f, 3.f, 0.5f, -1.f, 4.f, 2.f, 1.f}).reshape({2, 2, 1, 2});
  torch::Tensor x = torch::tensor({1.f, 2.f, 3.f, 4.f}).reshape({1, 1, 2, 2});
  torch::Tensor y = torch::conv2d(x, ToConvWeight(hwio));
  for (int o = 0; o < 2; ++o) {
    float expected = 0;
    for (int h = 0; h < 2; ++h)
      for (int w = 0; w < 2; ++w)
        expected += x[0][0][h][w].item<float>() * hwio[h][w][0][o].item<float>();
    EXPECT_FLOAT_EQ(y[0][o][0][0].item<float>(), expected) << "output channel " << o;
  }
}

struct RealManifest {
  const char* model;
  size_t tensors;
};

class RealManifests : public ::testing::TestWithParam<RealManifest> {};

TEST_P(RealManifests, LoadWithExpectedTensorCount) {
  const std::string dir = testing::ModelsDir() + "/face-api/model/";
  const std::string manifest = dir + GetParam().model + "-weights_manifest.json";
  auto weights = TfjsWeights::Load(manifest);
  ASSERT_TRUE(weights.ok()) << weights.status();
  EXPECT_EQ(weights->names().size(), GetParam().tensors);
  for (const std::string& name : weights->names()) {
    auto t = weights->Get(name);
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_TRUE(torch::isfinite(*t).all().item<bool>()) << name;
  }

  // The first tensor's first value, decoded by hand from the manifest and the .bin's first byte.
  std::ifstream in(manifest);
  nlohmann::json json = nlohmann::json::parse(in);
  const auto& first = json[0]["weights"][0];
  std::ifstream bin(dir + json[0]["paths"][0].get<std::string>(), std::ios::binary);
  char byte = 0;
  bin.read(&byte, 1);
  ASSERT_TRUE(first.contains("quantization"));
  const double expected =
      static_cast<uint8_t>(byte) * first["quantization"]["scale"].get<double>() +
      first["quantization"]["min"].get<double>();
  auto t = weights->Get(first["name"].get<std::string>());
  ASSERT_TRUE(t.ok());
  EXPECT_NEAR(t->flatten()[0].item<float>(), expected, 1e-6);
}

INSTANTIATE_TEST_SUITE_P(FaceApi, RealManifests,
                         ::testing::Values(RealManifest{"face_landmark_68_model", 49},
                                           RealManifest{"face_recognition_model", 117},
                                           RealManifest{"ssd_mobilenetv1_model", 151},
                                           RealManifest{"tiny_face_detector_model", 19}),
                         [](const auto& info) { return std::string(info.param.model); });

}  // namespace
}  // namespace fsc::face
