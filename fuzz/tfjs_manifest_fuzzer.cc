// Fuzzes the TF.js weight manifest parser (core/face/tfjs_manifest.h): no manifest may crash or
// throw, and one that parses must describe its groups consistently: tensors back to back within
// the limits, every tensor decodable from data of exactly the declared size, and the last one
// refused when a byte is missing.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "core/face/tfjs_manifest.h"
#include "fuzz/json_input.h"

namespace {

// Groups up to this size get their tensors decoded (from made-up data).
constexpr int64_t kDecodeBytes = int64_t{1} << 16;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using fsc::face::TfjsTensorSpec;
  const std::string text = fsc::fuzz::JsonText(data, size);
  auto groups = fsc::face::ParseTfjsManifest(text, "model/m-weights_manifest.json");
  if (!groups.ok()) return 0;
  for (const fsc::face::TfjsWeightGroup& group : *groups) {
    int64_t offset = 0;
    for (const TfjsTensorSpec& spec : group.tensors) {
      if (spec.offset != offset || spec.count < 0 ||
          spec.count > fsc::face::kMaxTfjsTensorElements || spec.bytes < spec.count) {
        __builtin_trap();
      }
      offset += spec.bytes;
    }
    if (offset != group.bytes || group.bytes > fsc::face::kMaxTfjsGroupBytes) __builtin_trap();
    if (group.bytes > kDecodeBytes) continue;
    const std::string shard(static_cast<size_t>(group.bytes), '\x5a');
    for (const TfjsTensorSpec& spec : group.tensors) {
      std::vector<float> values(static_cast<size_t>(spec.count));
      if (!fsc::face::DecodeTfjsTensor(spec, shard, "m", values.data()).ok()) __builtin_trap();
    }
    if (!group.tensors.empty() && group.tensors.back().bytes > 0) {
      const TfjsTensorSpec& last = group.tensors.back();
      std::vector<float> values(static_cast<size_t>(last.count));
      const absl::string_view cut(shard.data(), shard.size() - 1);
      if (fsc::face::DecodeTfjsTensor(last, cut, "m", values.data()).ok()) __builtin_trap();
    }
  }
  return 0;
}
