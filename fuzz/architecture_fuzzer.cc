// Fuzzes the model layout reader (core/model/architecture.h) that `fsc train --architecture`,
// checkpoint manifests and cluster train jobs go through: no JSON may crash or throw, and a layout
// that validates must stay under the parameter limit and survive a round trip through its JSON.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "core/model/architecture.h"
#include "fuzz/json_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json json = fsc::fuzz::JsonInput(data, size);
  if (json.is_discarded()) return 0;
  auto arch = fsc::model::ArchitectureFromJson(json);
  if (!arch.ok()) return 0;
  if (fsc::model::ParameterCount(*arch, true) > fsc::model::kMaxModelParameters ||
      fsc::model::ParameterCount(*arch, false) <= 0) {
    __builtin_trap();
  }
  auto again = fsc::model::ArchitectureFromJson(fsc::model::ArchitectureToJson(*arch));
  if (!again.ok() || !fsc::model::SameArchitecture(*arch, *again)) __builtin_trap();
  return 0;
}
