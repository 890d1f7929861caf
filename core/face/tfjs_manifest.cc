// TF.js weight manifest parsing and dequantization, with every field checked: manifests come
// from a package registry, and a model folder can be anyone's.
#include "core/face/tfjs_manifest.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "core/util/json_fields.h"

namespace fsc::face {
namespace {

using nlohmann::json;

// Storage dtype -> bytes per element and kind; false for a dtype fsc cannot read.
bool StorageOf(const std::string& dtype, TfjsStorage* storage, int64_t* width) {
  if (dtype == "uint8") {
    *storage = TfjsStorage::kUint8;
    *width = 1;
  } else if (dtype == "uint16") {
    *storage = TfjsStorage::kUint16;
    *width = 2;
  } else if (dtype == "int32") {
    *storage = TfjsStorage::kInt32;
    *width = 4;
  } else if (dtype == "float32") {
    *storage = TfjsStorage::kFloat32;
    *width = 4;
  } else {
    return false;
  }
  return true;
}

// A shard path that stays inside the manifest's folder.
bool IsSafeShardPath(const std::string& path) {
  if (path.empty() || path.find('\0') != std::string::npos) return false;
  const std::filesystem::path p(path);
  if (p.is_absolute()) return false;
  for (const auto& part : p) {
    if (part == "..") return false;
  }
  return true;
}

// The string at `key` of `object` (`fallback` when absent); false when present with another
// type.
bool GetString(const json& object, const char* key, const std::string& fallback, std::string* out) {
  const json* value = util::JsonField(object, key);
  std::optional<std::string> text = value ? util::JsonString(*value) : fallback;
  if (text) *out = *std::move(text);
  return text.has_value();
}

// Quantization parameters are bounded so that q * scale + min stays a float for any uint16 q.
bool GetQuantizationNumber(const json& object, const char* key, double fallback, double* out) {
  const json* value = util::JsonField(object, key);
  std::optional<double> number = value ? util::JsonNumber(*value) : fallback;
  if (number) *out = *number;
  return number.has_value() && std::abs(*number) <= 1e30;
}

absl::StatusOr<TfjsTensorSpec> ParseSpec(const json& spec, int64_t offset,
                                         const std::string& what) {
  auto bad = [&](const std::string& why) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", why));
  };
  if (!spec.is_object()) return bad("a weight entry is not a JSON object");
  TfjsTensorSpec out;
  if (!GetString(spec, "name", "", &out.name) || out.name.empty()) {
    return bad("a weight entry has no \"name\" string");
  }
  const std::string tensor = absl::StrCat("tensor \"", out.name, "\"");
  auto shape = spec.find("shape");
  if (shape != spec.end()) {
    if (!shape->is_array()) return bad(tensor + ": \"shape\" is not an array");
    for (const json& dim : *shape) {
      const std::optional<int64_t> size = util::JsonInt64(dim);
      if (!size || *size < 0) {
        return bad(tensor + ": \"shape\" holds something other than sizes >= 0");
      }
      const int64_t d = *size;
      if (d != 0 && out.count > kMaxTfjsTensorElements / d) {
        return bad(absl::StrCat(tensor, " has more than ", kMaxTfjsTensorElements, " elements"));
      }
      out.count *= d;
      out.shape.push_back(d);
    }
  }
  std::string dtype;
  if (!GetString(spec, "dtype", "float32", &dtype)) return bad(tensor + ": \"dtype\" not a string");
  std::string stored = dtype;
  auto quantization = spec.find("quantization");
  if (quantization != spec.end()) {
    if (!quantization->is_object()) return bad(tensor + ": \"quantization\" is not an object");
    out.quantized = true;
    if (!GetString(*quantization, "dtype", "uint8", &stored) ||
        !GetQuantizationNumber(*quantization, "scale", 1.0, &out.scale) ||
        !GetQuantizationNumber(*quantization, "min", 0.0, &out.min)) {
      return bad(tensor + ": quantization needs a dtype string and finite scale and min");
    }
    if (stored != "uint8" && stored != "uint16") {
      return bad(absl::StrCat(tensor, " is quantized to ", stored,
                              "; fsc reads uint8 and uint16 quantization"));
    }
  }
  int64_t width = 0;
  if (!StorageOf(stored, &out.storage, &width)) {
    return bad(absl::StrCat(tensor, " has unsupported dtype ", stored,
                            " (fsc reads uint8, uint16, int32 and float32 storage)"));
  }
  out.offset = offset;
  out.bytes = out.count * width;
  return out;
}

}  // namespace

absl::StatusOr<std::vector<TfjsWeightGroup>> ParseTfjsManifest(absl::string_view text,
                                                               const std::string& what) {
  const json manifest = util::ParseOutsideJson(std::string_view(text.data(), text.size()));
  if (!manifest.is_array()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": not a TF.js weights manifest (expected a JSON array)"));
  }
  std::vector<TfjsWeightGroup> groups;
  std::set<std::string> names;
  for (const json& entry : manifest) {
    if (!entry.is_object() || !entry.contains("paths") || !entry.contains("weights") ||
        !entry["paths"].is_array() || !entry["weights"].is_array()) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": weight group without a 'paths' and a 'weights' array"));
    }
    TfjsWeightGroup group;
    for (const json& shard : entry["paths"]) {
      if (!shard.is_string() || !IsSafeShardPath(shard.get<std::string>())) {
        return absl::InvalidArgumentError(absl::StrCat(
            what, ": a shard path is not a relative path inside the manifest's folder"));
      }
      group.paths.push_back(shard.get<std::string>());
    }
    for (const json& spec : entry["weights"]) {
      absl::StatusOr<TfjsTensorSpec> tensor = ParseSpec(spec, group.bytes, what);
      if (!tensor.ok()) return tensor.status();
      if (!names.insert(tensor->name).second) {
        return absl::InvalidArgumentError(
            absl::StrCat(what, ": tensor \"", tensor->name, "\" appears twice"));
      }
      if (tensor->bytes > kMaxTfjsGroupBytes - group.bytes) {
        return absl::InvalidArgumentError(absl::StrCat(what, ": a weight group declares more than ",
                                                       kMaxTfjsGroupBytes, " bytes"));
      }
      group.bytes += tensor->bytes;
      group.tensors.push_back(*std::move(tensor));
    }
    groups.push_back(std::move(group));
  }
  return groups;
}

absl::Status DecodeTfjsTensor(const TfjsTensorSpec& spec, absl::string_view group_data,
                              const std::string& what, float* out) {
  if (spec.offset < 0 || spec.bytes < 0 ||
      static_cast<uint64_t>(spec.offset) + static_cast<uint64_t>(spec.bytes) > group_data.size()) {
    return absl::DataLossError(absl::StrCat(what, ": weight data ends at byte ", group_data.size(),
                                            " but tensor ", spec.name, " needs bytes ", spec.offset,
                                            "..", spec.offset + spec.bytes,
                                            "; the .bin file is truncated"));
  }
  const char* src = group_data.data() + spec.offset;
  for (int64_t i = 0; i < spec.count; ++i) {
    double raw = 0;
    switch (spec.storage) {
      case TfjsStorage::kUint8:
        raw = static_cast<uint8_t>(src[i]);
        break;
      case TfjsStorage::kUint16: {
        uint16_t v;
        std::memcpy(&v, src + 2 * i, 2);
        raw = v;
        break;
      }
      case TfjsStorage::kInt32: {
        int32_t v;
        std::memcpy(&v, src + 4 * i, 4);
        raw = v;
        break;
      }
      case TfjsStorage::kFloat32: {
        float v;
        std::memcpy(&v, src + 4 * i, 4);
        raw = v;
        break;
      }
    }
    out[i] = static_cast<float>(spec.quantized ? raw * spec.scale + spec.min : raw);
  }
  return absl::OkStatus();
}

std::string FaceApiManifestPath(const std::string& models_dir, const std::string& file) {
  return (std::filesystem::path(models_dir) / "face-api" / "model" / file).string();
}

}  // namespace fsc::face
