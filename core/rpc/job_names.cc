// Enum words from fsc.proto's value names.
#include "core/rpc/job_names.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace fsc::rpc {
namespace {

bool Unspecified(const google::protobuf::EnumValueDescriptor& value) {
  return absl::EndsWith(value.name(), "_UNSPECIFIED");
}

std::string WordOf(const google::protobuf::EnumValueDescriptor& value) {
  const std::string& name = value.name();
  const size_t prefix = name.find('_');
  std::string word =
      absl::AsciiStrToLower(prefix == std::string::npos ? name : name.substr(prefix + 1));
  for (char& c : word) {
    if (c == '_') c = '-';
  }
  return word;
}

}  // namespace

std::string EnumWord(const google::protobuf::EnumDescriptor& type, int value) {
  const google::protobuf::EnumValueDescriptor* found = type.FindValueByNumber(value);
  if (found == nullptr || Unspecified(*found)) return "unknown";
  return WordOf(*found);
}

std::optional<int> ParseEnumWord(const google::protobuf::EnumDescriptor& type,
                                 const std::string& word) {
  const std::string lower = absl::AsciiStrToLower(word);
  for (int i = 0; i < type.value_count(); ++i) {
    const google::protobuf::EnumValueDescriptor& value = *type.value(i);
    if (!Unspecified(value) && WordOf(value) == lower) return value.number();
  }
  return std::nullopt;
}

std::vector<std::string> EnumWords(const google::protobuf::EnumDescriptor& type) {
  std::vector<std::string> words;
  for (int i = 0; i < type.value_count(); ++i) {
    if (!Unspecified(*type.value(i))) words.push_back(WordOf(*type.value(i)));
  }
  return words;
}

}  // namespace fsc::rpc
