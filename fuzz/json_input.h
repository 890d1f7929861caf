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

// Accepts any CBOR value nested at most kMaxDepth deep. nlohmann's CBOR reader recurses once per
// level, so a few thousand nested arrays overflow the stack; fsc never reads CBOR and its own
// formats (JSON text, parsed iteratively) are not nested that deep, so such inputs are no finding.
class CborDepthCheck : public nlohmann::json_sax<nlohmann::json> {
 public:
  static constexpr int kMaxDepth = 64;
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return ++depth_ <= kMaxDepth; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return --depth_, true; }
  bool start_array(std::size_t) override { return ++depth_ <= kMaxDepth; }
  bool end_array() override { return --depth_, true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  int depth_ = 0;
};

// The value (discarded when the bytes are neither valid JSON text nor valid CBOR, or nest deeper
// than CborDepthCheck allows).
inline nlohmann::json JsonInput(const uint8_t* data, size_t size) {
  if (IsJsonText(data, size)) {
    return nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  }
  // nlohmann 3.11 throws out_of_range 408 for a CBOR array or map whose declared size exceeds
  // max_size() even with allow_exceptions = false; fsc never reads CBOR, so that is no finding.
  try {
    CborDepthCheck check;
    if (!nlohmann::json::sax_parse(data, data + size, &check, nlohmann::json::input_format_t::cbor,
                                   /*strict=*/true)) {
      return nlohmann::json(nlohmann::json::value_t::discarded);
    }
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
