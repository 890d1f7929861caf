// The checkpoint manifest's JSON form.
#include "core/train/checkpoint_manifest.h"

#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/util/json_fields.h"

namespace fsc::train {
namespace {

// "config" and "loss_history" are kept as JSON values (copied, dumped when written back); train
// options and loss records are flat, so deeper nesting is refused before anything recurses on it.
constexpr int kMaxKeptJsonDepth = 16;

// A data file's name as a manifest may record it: NAME, or state/NAME from format 2 on.
bool ValidFileName(const std::string& name, int format_version) {
  std::string base = name;
  if (format_version >= 2 && util::IsTrainingStatePath(name)) {
    base = name.substr(std::string(util::kTrainingStateDir).size() + 1);
  }
  return !base.empty() && !absl::StrContains(base, "/") && base[0] != '.';
}

}  // namespace

nlohmann::json ManifestToJson(const CheckpointManifest& m) {
  nlohmann::json files = nlohmann::json::object();
  for (const auto& [role, file] : m.files) {
    files[role] = {{"name", file.name}, {"bytes", file.bytes}, {"sha256", file.sha256}};
  }
  return {{"format", kCheckpointFormat},
          {"format_version", m.format_version},
          {"model", m.model},
          {"architecture", ArchitectureToJson(m.architecture)},
          {"model_options",
           {{"learn_mask", m.model_options.learn_mask},
            {"icnr_init", m.model_options.icnr_init},
            {"seed", m.model_options.seed}}},
          {"config", m.config},
          {"iteration", m.iteration},
          {"next_batch", m.next_batch},
          {"torch_version", m.torch_version},
          {"files", files},
          {"loss_history", m.loss_history}};
}

absl::StatusOr<CheckpointManifest> ManifestFromJson(const nlohmann::json& json,
                                                    const std::string& what) {
  using util::JsonAt;
  if (JsonAt(json, "format", util::JsonString) != kCheckpointFormat) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is not an fsc training checkpoint manifest"));
  }
  auto bad = [&](absl::string_view field) {
    return absl::InvalidArgumentError(absl::StrCat(what,
                                                   " is not a valid fsc checkpoint manifest: \"",
                                                   field, "\" is missing or has the wrong type"));
  };
  CheckpointManifest m;
  const std::optional<int64_t> version = JsonAt(json, "format_version", util::JsonInt64);
  if (!version) return bad("format_version");
  if (*version > kCheckpointFormatVersion || *version < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " has checkpoint format version ", *version, "; this fsc reads versions 1 to ",
        kCheckpointFormatVersion, " (use the fsc that wrote it)"));
  }
  m.format_version = static_cast<int>(*version);
  std::optional<std::string> model = JsonAt(json, "model", util::JsonString);
  if (!model) return bad("model");
  m.model = *std::move(model);
  const nlohmann::json* architecture = util::JsonField(json, "architecture");
  if (architecture == nullptr) return bad("architecture");
  absl::StatusOr<model::Architecture> layout = ArchitectureFromJson(*architecture);
  if (!layout.ok())
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", layout.status().message()));
  m.architecture = *std::move(layout);
  const nlohmann::json* options = util::JsonField(json, "model_options");
  const std::optional<bool> learn_mask =
      options ? JsonAt(*options, "learn_mask", util::JsonBool) : std::nullopt;
  const std::optional<bool> icnr_init =
      options ? JsonAt(*options, "icnr_init", util::JsonBool) : std::nullopt;
  const std::optional<uint64_t> seed =
      options ? JsonAt(*options, "seed", util::JsonUint64) : std::nullopt;
  if (!learn_mask || !icnr_init || !seed) return bad("model_options");
  m.model_options = {*learn_mask, *icnr_init, *seed};
  const nlohmann::json* config = util::JsonField(json, "config");
  if (config == nullptr || !config->is_object() ||
      !util::JsonDepthWithin(*config, kMaxKeptJsonDepth)) {
    return bad("config");
  }
  m.config = *config;
  const std::optional<int64_t> iteration = JsonAt(json, "iteration", util::JsonInt64);
  const std::optional<int64_t> next_batch = JsonAt(json, "next_batch", util::JsonInt64);
  if (!iteration || *iteration < 0) return bad("iteration");
  if (!next_batch || *next_batch < 0) return bad("next_batch");
  m.iteration = *iteration;
  m.next_batch = *next_batch;
  if (const nlohmann::json* torch = util::JsonField(json, "torch_version")) {
    if (!torch->is_string()) return bad("torch_version");
    m.torch_version = torch->get<std::string>();
  }
  if (const nlohmann::json* history = util::JsonField(json, "loss_history")) {
    if (!history->is_array() || !util::JsonDepthWithin(*history, kMaxKeptJsonDepth)) {
      return bad("loss_history");
    }
    m.loss_history = *history;
  }
  const nlohmann::json* files = util::JsonField(json, "files");
  if (files == nullptr || !files->is_object()) return bad("files");
  for (const auto& [role, file] : files->items()) {
    CheckpointFile f;
    std::optional<std::string> name = JsonAt(file, "name", util::JsonString);
    std::optional<int64_t> bytes = JsonAt(file, "bytes", util::JsonInt64);
    std::optional<std::string> sha256 = JsonAt(file, "sha256", util::JsonString);
    if (!name || !bytes || *bytes < 0 || !sha256) return bad(absl::StrCat("files.", role));
    f.name = *std::move(name);
    f.bytes = *bytes;
    f.sha256 = *std::move(sha256);
    if (!ValidFileName(f.name, m.format_version)) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": bad file name \"", f.name, "\" for ", role));
    }
    m.files[role] = std::move(f);
  }
  return m;
}

}  // namespace fsc::train
