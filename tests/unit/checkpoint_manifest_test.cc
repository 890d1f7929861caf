// The checkpoint manifest's JSON: a round trip, and hostile manifests refused with
// INVALID_ARGUMENT naming the file (two of them once aborted fsc or hit undefined behaviour).
#include "core/train/checkpoint_manifest.h"

#include <gtest/gtest.h>

#include <string>

#include "core/model/model_registry.h"

namespace fsc::train {
namespace {

CheckpointManifest Sample() {
  CheckpointManifest m;
  m.model = "lightweight";
  m.architecture = *model::FindArchitecture("lightweight");
  m.model_options.seed = 7;
  m.config = {{"batch", 4}};
  m.iteration = 250;
  m.next_batch = 250;
  m.torch_version = "1.13.0";
  m.loss_history = nlohmann::json::array({{250, 0.5, 0.4}});
  m.files["weights"] = {"weights_000250.pt", 1234, std::string(64, 'a')};
  m.files["optimizer"] = {"state/optimizer_000250.pt", 5678, std::string(64, 'b')};
  return m;
}

TEST(CheckpointManifestTest, RoundTrip) {
  const nlohmann::json json = ManifestToJson(Sample());
  auto back = ManifestFromJson(json, "m.json");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(ManifestToJson(*back), json);
  EXPECT_EQ(back->files.at("optimizer").name, "state/optimizer_000250.pt");
  EXPECT_EQ(back->model_options.seed, 7u);
}

TEST(CheckpointManifestTest, HostileManifestsAreRefused) {
  const nlohmann::json good = ManifestToJson(Sample());
  const std::pair<nlohmann::json, const char*> patches[] = {
      {{{"format", 1}}, "not an fsc training checkpoint manifest"},  // once an uncaught throw
      {{{"format_version", 1e300}}, "format_version"},               // once undefined behaviour
      {{{"format_version", 3}}, "format version 3"},
      {{{"files", {{"weights", {{"bytes", 1.8e23}}}}}}, "files.weights"},  // found by the fuzzer
      {{{"files", {{"weights", {{"bytes", -1}}}}}}, "files.weights"},
      {{{"files", {{"weights", {{"name", "../weights.pt"}}}}}}, "bad file name"},
      {{{"files", {{"optimizer", {{"name", "state/../../x.pt"}}}}}}, "bad file name"},
      {{{"files", {{"weights", {{"name", ".hidden"}}}}}}, "bad file name"},
      {{{"files", 7}}, "files"},
      {{{"iteration", -5}}, "iteration"},
      {{{"next_batch", "12"}}, "next_batch"},
      {{{"model_options", {{"seed", -1}}}}, "model_options"},
      {{{"model_options", {{"learn_mask", 1}}}}, "model_options"},
      {{{"config", "batch=4"}}, "config"},
      {{{"torch_version", 113}}, "torch_version"},
      {{{"loss_history", {{"a", 1}}}}, "loss_history"},
      {{{"architecture", {{"input_size", 65}}}}, "halve exactly"},
      {{{"model", nullptr}}, "model"},
  };
  for (const auto& [patch, says] : patches) {
    nlohmann::json json = good;
    json.merge_patch(patch);
    auto manifest = ManifestFromJson(json, "model/fsc_model.json");
    EXPECT_EQ(manifest.status().code(), absl::StatusCode::kInvalidArgument) << patch;
    EXPECT_NE(manifest.status().message().find("model/fsc_model.json"), std::string::npos)
        << manifest.status();
    EXPECT_NE(manifest.status().message().find(says), std::string::npos) << manifest.status();
  }
  EXPECT_FALSE(ManifestFromJson(nlohmann::json::array(), "m").ok());
}

// Parsing nests iteratively, but copying a value recurses once per level: a manifest of 100000
// nested arrays once crashed the reader that kept "config" and "loss_history".
TEST(CheckpointManifestTest, DeeplyNestedKeptValuesAreRefused) {
  const int depth = 100000;
  const std::string deep = std::string(depth, '[') + std::string(depth, ']');
  for (const char* field : {"config", "loss_history"}) {
    nlohmann::json json = ManifestToJson(Sample());
    if (std::string(field) == "config") {
      json["config"]["deep"] = nlohmann::json::parse(deep);
    } else {
      json["loss_history"] = nlohmann::json::parse(deep);
    }
    auto manifest = ManifestFromJson(json, "model/fsc_model.json");
    EXPECT_EQ(manifest.status().code(), absl::StatusCode::kInvalidArgument) << field;
    EXPECT_NE(manifest.status().message().find(field), std::string::npos) << manifest.status();
  }
}

}  // namespace
}  // namespace fsc::train
