// Model layouts: the parameter count matches the models as built (the documented counts of the
// named models), and layouts from outside that could not be built, or only at absurd cost, are
// refused with the field named.
#include "core/model/architecture.h"

#include <gtest/gtest.h>

#include "core/model/face_swap_model.h"
#include "core/model/model_registry.h"

namespace fsc::model {
namespace {

TEST(ArchitectureTest, ParameterCountsOfTheNamedModels) {
  // model_registry.h: encoder + 2 decoders.
  const std::pair<const char*, int64_t> expected[] = {
      {"original", 82'062'470}, {"lightweight", 51'066'374}, {"dfl-h128", 107'716'102}};
  for (const auto& [name, count] : expected) {
    auto arch = FindArchitecture(name);
    ASSERT_TRUE(arch.ok()) << arch.status();
    EXPECT_TRUE(ValidateArchitecture(*arch).ok()) << name;
    EXPECT_EQ(ParameterCount(*arch, /*learn_mask=*/false), count) << name;
    EXPECT_GT(ParameterCount(*arch, /*learn_mask=*/true), count) << name;
  }
}

TEST(ArchitectureTest, ParameterCountAgreesWithTheBuiltModel) {
  Architecture arch;
  arch.name = "small";
  arch.input_size = 32;
  arch.encoder_filters = {8, 16, 24};
  arch.dense_dim = 20;
  arch.latent_size = 2;
  arch.latent_channels = 12;
  arch.encoder_upscale = 10;
  arch.decoder_filters = {14, 6, 5};
  ASSERT_TRUE(ValidateArchitecture(arch).ok()) << ValidateArchitecture(arch);
  for (bool learn_mask : {false, true}) {
    ModelOptions options;
    options.learn_mask = learn_mask;
    FaceSwapModel model(arch, options, WeightInit::kToBeLoaded);
    int64_t built = 0;
    for (const auto& p : model.parameters()) built += p.numel();
    EXPECT_EQ(ParameterCount(arch, learn_mask), built) << learn_mask;
  }
}

TEST(ArchitectureTest, JsonRoundTrip) {
  auto arch = FindArchitecture("dfl-h128");
  ASSERT_TRUE(arch.ok());
  auto again = ArchitectureFromJson(ArchitectureToJson(*arch));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(SameArchitecture(*arch, *again));
}

TEST(ArchitectureTest, LayoutsThatCannotOrShouldNotBeBuiltAreRefused) {
  const nlohmann::json tiny = {{"name", "tiny"},
                               {"input_size", 64},
                               {"encoder_filters", {16, 32, 64, 128}},
                               {"dense_dim", 64},
                               {"latent_size", 4},
                               {"latent_channels", 64},
                               {"encoder_upscale", 64},
                               {"decoder_filters", {64, 32, 16}}};
  ASSERT_TRUE(ArchitectureFromJson(tiny).ok());
  const std::pair<nlohmann::json, const char*> cases[] = {
      {{{"input_size", 1e300}}, "input_size"},  // once an undefined float -> int cast
      {{{"input_size", -64}}, "input_size"},
      {{{"input_size", 65}}, "halve exactly"},
      {{{"encoder_filters", nlohmann::json::array()}}, "encoder_filters"},
      {{{"encoder_filters", {16, 32, 64, 128, 16, 16, 16, 16, 16}}}, "encoder_filters"},
      {{{"encoder_filters", {16, 0, 64, 128}}}, "encoder_filters"},
      {{{"encoder_filters", {16, 32, 64, 1.5}}}, "encoder_filters"},
      {{{"decoder_filters", {64, 32}}}, "latent_size"},
      {{{"dense_dim", 18446744073709551615ull}}, "dense_dim"},
      {{{"dense_dim", 65536}, {"latent_channels", 4096}}, "parameters"},
      {{{"name", "a b"}}, "name"},
      {{{"name", 7}}, "name"},
      {{{"latent_channels", "64"}}, "latent_channels"},
  };
  for (const auto& [patch, says] : cases) {
    nlohmann::json json = tiny;
    json.merge_patch(patch);
    auto arch = ArchitectureFromJson(json);
    EXPECT_EQ(arch.status().code(), absl::StatusCode::kInvalidArgument) << patch;
    EXPECT_NE(arch.status().message().find(says), std::string::npos) << arch.status();
  }
  EXPECT_FALSE(ArchitectureFromJson(nlohmann::json::array()).ok());
  nlohmann::json missing = tiny;
  missing.erase("dense_dim");
  EXPECT_FALSE(ArchitectureFromJson(missing).ok());
}

}  // namespace
}  // namespace fsc::model
