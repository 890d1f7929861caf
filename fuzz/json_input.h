// What a fuzz input stands for in the harnesses of JSON formats: JSON text when it starts like
// JSON text, else CBOR. Byte-level mutations of CBOR change a value's type with one byte (string
// -> integer -> float -> array), which mutations of text rarely do, and type confusions are where
// JSON readers go wrong. Seeds come in both forms.
#ifndef FSC_FUZZ_JSON_INPUT_H_
#define FSC_FUZZ_JSON_INPUT_H_

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace fsc::fuzz {

inline bool IsJsonText(const uint8_t* data, size_t size) {
  size_t first = 0;
  while (first < size && (data[first] == ' ' || data[first] == '\n' || data[first] == '\t' ||
                          data[first] == '\r')) {
    ++first;
  }
  return first < size && (data[first] == '{' || data[first] == '[' || data[first] == '"');
}

// The value (discarded when the bytes are neither valid JSON text nor valid CBOR).
inline nlohmann::json JsonInput(const uint8_t* data, size_t size) {
  if (IsJsonText(data, size)) {
    return nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  }
  // nlohmann 3.11 throws out_of_range 408 for a CBOR array or map whose declared size exceeds
  // max_size() even with allow_exceptions = false; fsc never reads CBOR, so that is no finding.
  try {
    return nlohmann::json::from_cbor(data, data + size, /*strict=*/true,
                                     /*allow_exceptions=*/false);
  } catch (const nlohmann::json::exception&) {
    return nlohmann::json(nlohmann::json::value_t::discarded);
  }
}

// Text for parsers that take text: JSON text (valid or not) as it is, CBOR as its dump, anything
// else as it is.
inline std::string JsonText(const uint8_t* data, size_t size) {
  const std::string raw(reinterpret_cast<const char*>(data), size);
  if (IsJsonText(data, size)) return raw;
  const nlohmann::json json = JsonInput(data, size);
  // CBOR strings need not be UTF-8; dump() would throw on them.
  return json.is_discarded() ? raw
                             : json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace fsc::fuzz

#endif  // FSC_FUZZ_JSON_INPUT_H_
