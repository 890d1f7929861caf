// Fuzzes the checkpoint manifest reader (core/train/checkpoint_manifest.h) that convert, --resume
// and a fetched job's model go through: no JSON may crash, throw or hit undefined behaviour, and
// a manifest that parses names only files inside its folder and survives a round trip through
// its JSON.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "core/train/checkpoint_manifest.h"
#include "fuzz/json_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json json = fsc::fuzz::JsonInput(data, size);
  if (json.is_discarded()) return 0;
  auto manifest = fsc::train::ManifestFromJson(json, "model/fsc_model.json");
  if (!manifest.ok()) return 0;
  for (const auto& [role, file] : manifest->files) {
    // Inside the folder: components that are neither empty nor "." nor "..".
    size_t begin = 0;
    while (true) {
      const size_t end = file.name.find('/', begin);
      const std::string part = file.name.substr(begin, end - begin);
      if (part.empty() || part == "." || part == "..") __builtin_trap();
      if (end == std::string::npos) break;
      begin = end + 1;
    }
  }
  // Compared as text: NaN in "config" never equals itself, and CBOR strings need not be UTF-8.
  auto text = [](const fsc::train::CheckpointManifest& m) {
    return fsc::train::ManifestToJson(m).dump(-1, ' ', false,
                                              nlohmann::json::error_handler_t::replace);
  };
  auto again = fsc::train::ManifestFromJson(fsc::train::ManifestToJson(*manifest), "again");
  if (!again.ok() || text(*again) != text(*manifest)) __builtin_trap();
  return 0;
}
