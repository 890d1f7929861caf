// TF.js weight manifest parsing and dequantization.
#include "core/face/tfjs_weights.h"

#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/util/file_io.h"

namespace fsc::face {
namespace {

size_t DtypeBytes(const std::string& dtype) {
  if (dtype == "uint8") return 1;
  if (dtype == "uint16" || dtype == "float16") return 2;
  if (dtype == "float32" || dtype == "int32") return 4;
  return 0;
}

}  // namespace

absl::StatusOr<TfjsWeights> TfjsWeights::Load(const std::string& manifest_path) {
  auto text = util::ReadFile(manifest_path);
  if (!text.ok()) {
    return absl::NotFoundError(absl::StrCat("face model manifest ", manifest_path,
                                            " cannot be read (", text.status().message(),
                                            "); run scripts/setup to fetch the models"));
  }
  nlohmann::json manifest = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!manifest.is_array()) {
    return absl::InvalidArgumentError(
        absl::StrCat(manifest_path, ": not a TF.js weights manifest (expected a JSON array)"));
  }
  TfjsWeights result;
  result.path_ = manifest_path;
  std::filesystem::path dir = std::filesystem::path(manifest_path).parent_path();
  for (const auto& group : manifest) {
    if (!group.contains("paths") || !group.contains("weights")) {
      return absl::InvalidArgumentError(
          absl::StrCat(manifest_path, ": weight group without 'paths' or 'weights'"));
    }
    std::string data;
    for (const auto& shard : group["paths"]) {
      auto bytes = util::ReadFile((dir / shard.get<std::string>()).string());
      if (!bytes.ok()) {
        return absl::NotFoundError(absl::StrCat(manifest_path, ": weight shard ",
                                                shard.get<std::string>(), ": ",
                                                bytes.status().message()));
      }
      data += *bytes;
    }
    size_t offset = 0;
    for (const auto& spec : group["weights"]) {
      std::string name = spec.value("name", "");
      std::string dtype = spec.value("dtype", "float32");
      std::vector<int64_t> shape = spec.value("shape", std::vector<int64_t>{});
      int64_t count = 1;
      for (int64_t d : shape) count *= d;
      std::string stored = dtype;
      double scale = 1.0, min = 0.0;
      bool quantized = spec.contains("quantization");
      if (quantized) {
        const auto& q = spec["quantization"];
        stored = q.value("dtype", "uint8");
        scale = q.value("scale", 1.0);
        min = q.value("min", 0.0);
      }
      size_t width = DtypeBytes(stored);
      if (width == 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(manifest_path, ": tensor ", name, " has unsupported dtype ", stored));
      }
      size_t bytes = width * static_cast<size_t>(count);
      if (offset + bytes > data.size()) {
        return absl::DataLossError(absl::StrCat(
            manifest_path, ": weight data ends at byte ", data.size(), " but tensor ", name,
            " needs bytes ", offset, "..", offset + bytes, "; the .bin file is truncated"));
      }
      const char* src = data.data() + offset;
      torch::Tensor tensor = torch::empty({count}, torch::kFloat32);
      float* out = tensor.data_ptr<float>();
      for (int64_t i = 0; i < count; ++i) {
        double raw = 0;
        if (stored == "uint8") {
          raw = static_cast<uint8_t>(src[i]);
        } else if (stored == "uint16") {
          uint16_t v;
          std::memcpy(&v, src + 2 * i, 2);
          raw = v;
        } else if (stored == "int32") {
          int32_t v;
          std::memcpy(&v, src + 4 * i, 4);
          raw = v;
        } else if (stored == "float32") {
          float v;
          std::memcpy(&v, src + 4 * i, 4);
          raw = v;
        } else {
          return absl::InvalidArgumentError(
              absl::StrCat(manifest_path, ": tensor ", name, ": float16 storage not supported"));
        }
        out[i] = static_cast<float>(quantized ? raw * scale + min : raw);
      }
      offset += bytes;
      result.names_.push_back(name);
      result.tensors_[name] = tensor.reshape(shape);
    }
    if (offset != data.size()) {
      return absl::DataLossError(absl::StrCat(manifest_path, ": manifest describes ", offset,
                                              " bytes but the weight files hold ", data.size()));
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
