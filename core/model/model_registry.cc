// The table of named model layouts and CreateModel.
#include "core/model/model_registry.h"

#include <exception>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace fsc::model {
namespace {

std::vector<Architecture> Registry() {
  std::vector<Architecture> all;
  {
    Architecture a;
    a.name = "original";
    a.input_size = 64;
    a.encoder_filters = {128, 256, 512, 1024};
    a.dense_dim = 1024;
    a.latent_size = 4;
    a.latent_channels = 1024;
    a.encoder_upscale = 512;
    a.decoder_filters = {256, 128, 64};
    all.push_back(a);
  }
  {
    Architecture a;
    a.name = "lightweight";
    a.input_size = 64;
    a.encoder_filters = {128, 256, 512};
    a.dense_dim = 512;
    a.latent_size = 4;
    a.latent_channels = 512;
    a.encoder_upscale = 256;
    a.decoder_filters = {512, 256, 128};
    all.push_back(a);
  }
  {
    Architecture a;
    a.name = "dfl-h128";
    a.input_size = 128;
    a.encoder_filters = {128, 256, 512, 1024};
    a.dense_dim = 512;
    a.latent_size = 8;
    a.latent_channels = 512;
    a.encoder_upscale = 512;
    a.decoder_filters = {512, 256, 128};
    all.push_back(a);
  }
  return all;
}

}  // namespace

std::vector<std::string> ModelNames() {
  std::vector<std::string> names;
  for (const Architecture& a : Registry()) names.push_back(a.name);
  return names;
}

absl::StatusOr<Architecture> FindArchitecture(const std::string& name) {
  for (Architecture& a : Registry()) {
    if (a.name == name) return a;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown model \"", name, "\"; known models: ", absl::StrJoin(ModelNames(), ", ")));
}

absl::StatusOr<std::shared_ptr<FaceSwapModel>> CreateModel(const std::string& name,
                                                           const ModelOptions& options) {
  absl::StatusOr<Architecture> arch = FindArchitecture(name);
  if (!arch.ok()) return arch.status();
  try {
    return std::make_shared<FaceSwapModel>(*std::move(arch), options);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("building model \"", name, "\": ", e.what()));
  }
}

}  // namespace fsc::model
