// TF.js manifest parsing without LibTorch: offsets and dequantization of a small manifest, and
// hostile manifests (each once crashed or could crash the loader before it was checked) refused
// with INVALID_ARGUMENT naming the manifest.
#include "core/face/tfjs_manifest.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace fsc::face {
namespace {

TEST(TfjsManifestTest, OffsetsAndDequantization) {
  auto groups = ParseTfjsManifest(
      R"([{"paths": ["a.bin"], "weights": [
            {"name": "q", "shape": [2, 3], "dtype": "float32",
             "quantization": {"dtype": "uint8", "scale": 0.5, "min": -1.25}},
            {"name": "f", "shape": [2], "dtype": "float32"},
            {"name": "i", "shape": [], "dtype": "int32"}]}])",
      "m.json");
  ASSERT_TRUE(groups.ok()) << groups.status();
  ASSERT_EQ(groups->size(), 1u);
  const TfjsWeightGroup& group = groups->front();
  ASSERT_EQ(group.tensors.size(), 3u);
  EXPECT_EQ(group.tensors[0].offset, 0);
  EXPECT_EQ(group.tensors[0].bytes, 6);
  EXPECT_EQ(group.tensors[1].offset, 6);
  EXPECT_EQ(group.tensors[2].offset, 14);
  EXPECT_EQ(group.tensors[2].count, 1);
  EXPECT_EQ(group.bytes, 18);

  std::string data = {0, 1, 2, 3, 100, static_cast<char>(255)};
  const float floats[2] = {3.5f, -0.125f};
  const int32_t value = -7;
  data.append(reinterpret_cast<const char*>(floats), sizeof(floats));
  data.append(reinterpret_cast<const char*>(&value), sizeof(value));
  std::vector<float> q(6), f(2), i(1);
  ASSERT_TRUE(DecodeTfjsTensor(group.tensors[0], data, "m.json", q.data()).ok());
  ASSERT_TRUE(DecodeTfjsTensor(group.tensors[1], data, "m.json", f.data()).ok());
  ASSERT_TRUE(DecodeTfjsTensor(group.tensors[2], data, "m.json", i.data()).ok());
  EXPECT_FLOAT_EQ(q[5], 255 * 0.5f - 1.25f);
  EXPECT_FLOAT_EQ(f[1], -0.125f);
  EXPECT_FLOAT_EQ(i[0], -7.0f);
  auto truncated =
      DecodeTfjsTensor(group.tensors[2], data.substr(0, data.size() - 1), "m.json", i.data());
  EXPECT_EQ(truncated.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(truncated.message().find("truncated"), std::string::npos);
}

TEST(TfjsManifestTest, HostileManifestsAreRefused) {
  const char* cases[] = {
      // Wrong JSON types where the loader used to call get<>() and throw.
      R"([{"paths": [7], "weights": []}])",
      R"([{"paths": ["a.bin"], "weights": [{"name": "x", "shape": "2x3"}]}])",
      R"([{"paths": ["a.bin"], "weights": [{"name": 5, "shape": [1]}]}])",
      R"([{"paths": ["a.bin"], "weights": [{"name": "x", "dtype": 32}]}])",
      R"([{"paths": ["a.bin"], "weights": [{"name": "x", "quantization": [1]}]}])",
      R"([{"paths": "a.bin", "weights": []}])",
      R"([17])",
      // Sizes that overflowed the element count or asked for gigabytes.
      R"([{"paths": ["a.bin"], "weights": [{"name": "x", "shape": [-1, 4]}]}])",
      R"([{"paths": ["a.bin"], "weights": [{"name": "x", "shape": [4294967296, 4294967296, 16]}]}])",
      R"([{"paths": ["a.bin"], "weights": [{"name": "x", "shape": [268435456]},
                                           {"name": "y", "shape": [268435456]}]}])",
      R"([{"paths": ["a.bin"], "weights": [{"name": "x", "shape": [1.5]}]}])",
      // Shards outside the manifest's folder.
      R"([{"paths": ["../../etc/passwd"], "weights": []}])",
      R"([{"paths": ["/etc/passwd"], "weights": []}])",
      R"([{"paths": [""], "weights": []}])",
      // Storage fsc does not read; quantization that overflows a float.
      R"([{"paths": ["a.bin"], "weights": [{"name": "x", "dtype": "float16"}]}])",
      R"([{"paths": ["a.bin"], "weights": [{"name": "x", "dtype": "float32",
           "quantization": {"dtype": "float32", "scale": 1}}]}])",
      R"([{"paths": ["a.bin"], "weights": [{"name": "x",
           "quantization": {"dtype": "uint8", "scale": 1e300}}]}])",
      // One name twice.
      R"([{"paths": ["a.bin"], "weights": [{"name": "x"}, {"name": "x"}]}])",
      R"({"not": "an array"})",
      "[{\"paths\": [\"a.b",
  };
  for (const char* text : cases) {
    auto groups = ParseTfjsManifest(text, "model/m.json");
    EXPECT_EQ(groups.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_EQ(groups.status().message().rfind("model/m.json: ", 0), 0u) << groups.status();
  }
}

}  // namespace
}  // namespace fsc::face
