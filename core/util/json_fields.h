// Typed reads of JSON object fields that never throw and never convert: a value of another type
// (a float or a string where an integer belongs, an integer past int64) reads as absent instead
// of throwing nlohmann's type_error or hitting an undefined float-to-integer conversion. For
// readers of JSON that comes from outside (manifests, layouts, configs).
#ifndef FSC_CORE_UTIL_JSON_FIELDS_H_
#define FSC_CORE_UTIL_JSON_FIELDS_H_

#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fsc::util {

// object[key], or nullptr when `object` is not an object or has no such key.
inline const nlohmann::json* JsonField(const nlohmann::json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(std::string(key));
  return it == object.end() ? nullptr : &*it;
}

// An integer value that fits int64.
inline std::optional<int64_t> JsonInt64(const nlohmann::json& value) {
  if (value.is_number_unsigned()) {
    const uint64_t v = value.get<uint64_t>();
    if (v > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<int64_t>(v);
  }
  if (value.is_number_integer()) return value.get<int64_t>();
  return std::nullopt;
}

// A non-negative integer value.
inline std::optional<uint64_t> JsonUint64(const nlohmann::json& value) {
  if (value.is_number_unsigned()) return value.get<uint64_t>();
  if (value.is_number_integer() && value.get<int64_t>() >= 0) {
    return static_cast<uint64_t>(value.get<int64_t>());
  }
  return std::nullopt;
}

inline std::optional<std::string> JsonString(const nlohmann::json& value) {
  if (!value.is_string()) return std::nullopt;
  return value.get<std::string>();
}

inline std::optional<bool> JsonBool(const nlohmann::json& value) {
  if (!value.is_boolean()) return std::nullopt;
  return value.get<bool>();
}

// A finite number (integers included).
inline std::optional<double> JsonNumber(const nlohmann::json& value) {
  if (!value.is_number()) return std::nullopt;
  const double v = value.get<double>();
  if (!std::isfinite(v)) return std::nullopt;
  return v;
}

// Whether `value` nests arrays and objects at most `max_depth` deep (a scalar is depth 0). Checked
// without recursion: nlohmann parses text iteratively, but copying or dumping a value recurses
// once per level, so a file of 100000 '[' would overflow the stack of whoever copies it.
inline bool JsonDepthWithin(const nlohmann::json& value, int max_depth) {
  std::vector<std::pair<const nlohmann::json*, int>> pending = {{&value, 0}};
  while (!pending.empty()) {
    const auto [item, depth] = pending.back();
    pending.pop_back();
    if (!item->is_structured()) continue;
    if (depth + 1 > max_depth) return false;
    for (const nlohmann::json& child : *item) pending.emplace_back(&child, depth + 1);
  }
  return true;
}

// How deep JSON from outside (manifests, layouts, configs) may nest: far past any real file.
inline constexpr int kMaxOutsideJsonDepth = 64;

// Every reader of outside JSON parses through this: `text` as JSON, or a discarded value (as
// nlohmann::json::parse without exceptions gives for bad text) also when it nests deeper than
// `max_depth`, so that no later copy or dump of the value can recurse off the stack.
inline nlohmann::json ParseOutsideJson(std::string_view text,
                                       int max_depth = kMaxOutsideJsonDepth) {
  nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded() || JsonDepthWithin(value, max_depth)) return value;
  return nlohmann::json(nlohmann::json::value_t::discarded);
}

// The same reads of object[key]; nullopt also when the key is absent.
template <typename Read>
auto JsonAt(const nlohmann::json& object, std::string_view key, Read read)
    -> decltype(read(object)) {
  const nlohmann::json* value = JsonField(object, key);
  if (value == nullptr) return std::nullopt;
  return read(*value);
}

}  // namespace fsc::util

#endif  // FSC_CORE_UTIL_JSON_FIELDS_H_
