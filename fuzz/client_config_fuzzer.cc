// Fuzzes the client config file parser (core/rpc/client_config.h), the file that `fsc cluster up`
// writes and users edit: no text may crash or throw, and the TLS paths of one that parses are
// anchored at the file's folder.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "core/rpc/client_config.h"
#include "fuzz/json_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = fsc::fuzz::JsonText(data, size);
  auto config = fsc::rpc::ParseClientConfig(text, "/home/user/.config/fsc/config.json");
  if (!config.ok()) return 0;
  for (const auto* path : {&config->tls_ca, &config->tls_cert, &config->tls_key}) {
    if (path->has_value() && (*path)->empty()) __builtin_trap();
    if (path->has_value() && (**path)[0] != '/') __builtin_trap();
  }
  return 0;
}
