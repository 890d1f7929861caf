// TF.js weights: the shards a manifest (tfjs_manifest.h) names, read into LibTorch tensors.
#include "core/face/tfjs_weights.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/face/tfjs_manifest.h"
#include "core/util/file_io.h"
#include "core/util/status_macros.h"

namespace fsc::face {

absl::StatusOr<TfjsWeights> TfjsWeights::Load(const std::string& manifest_path) {
  auto text = util::ReadFile(manifest_path);
  if (!text.ok()) {
    return absl::NotFoundError(absl::StrCat("face model manifest ", manifest_path,
                                            " cannot be read (", text.status().message(),
                                            "); run scripts/setup to fetch the models"));
  }
  absl::StatusOr<std::vector<TfjsWeightGroup>> groups = ParseTfjsManifest(*text, manifest_path);
  if (!groups.ok()) return groups.status();
  TfjsWeights result;
  result.path_ = manifest_path;
  std::filesystem::path dir = std::filesystem::path(manifest_path).parent_path();
  for (const TfjsWeightGroup& group : *groups) {
    std::string data;
    for (const std::string& shard : group.paths) {
      auto bytes = util::ReadFile((dir / shard).string());
      if (!bytes.ok()) {
        return absl::NotFoundError(
            absl::StrCat(manifest_path, ": weight shard ", shard, ": ", bytes.status().message()));
      }
      data += *bytes;
    }
    if (static_cast<int64_t>(data.size()) > group.bytes) {
      return absl::DataLossError(absl::StrCat(manifest_path, ": manifest describes ", group.bytes,
                                              " bytes but the weight files hold ", data.size()));
    }
    for (const TfjsTensorSpec& spec : group.tensors) {
      torch::Tensor tensor = torch::empty({spec.count}, torch::kFloat32);
      FSC_RETURN_IF_ERROR(DecodeTfjsTensor(spec, data, manifest_path, tensor.data_ptr<float>()));
      result.names_.push_back(spec.name);
      result.tensors_[spec.name] = tensor.reshape(spec.shape);
    }
  }
  return result;
}

absl::StatusOr<torch::Tensor> TfjsWeights::Get(const std::string& name,
                                               const std::vector<int64_t>& expected_shape) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) {
    return absl::NotFoundError(absl::StrCat(path_, ": no tensor named '", name, "'"));
  }
  if (!expected_shape.empty() && it->second.sizes().vec() != expected_shape) {
    return absl::InvalidArgumentError(absl::StrCat(
        path_, ": tensor '", name, "' has shape [", absl::StrJoin(it->second.sizes().vec(), ","),
        "], expected [", absl::StrJoin(expected_shape, ","), "]"));
  }
  return it->second;
}

torch::Tensor ToConvWeight(const torch::Tensor& hwio) {
  return hwio.permute({3, 2, 0, 1}).contiguous();
}

torch::Tensor ToDepthwiseWeight(const torch::Tensor& hwc1) {
  return hwc1.permute({2, 3, 0, 1}).contiguous();
}

}  // namespace fsc::face
