// Flags, help and checks derived from the OptionSpec annotations (see option_schema.h).
#include "core/rpc/option_schema.h"

#include <cmath>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "core/util/status_macros.h"

namespace fsc::rpc {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

bool HasRange(const proto::OptionSpec& spec) { return spec.min() != 0 || spec.max() != 0; }

// A bound as people write it: whole numbers in full (a seed's 9007199254740992), others short.
std::string BoundText(double value) {
  if (value == std::floor(value) && std::fabs(value) < 1e18) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  return absl::StrFormat("%g", value);
}

std::string RangeOf(const proto::OptionSpec& spec) {
  return absl::StrCat(BoundText(spec.min()), "..", BoundText(spec.max()));
}

// The accepted values, for messages ("1..4096", "one of: auto, fp32").
std::string Accepted(const proto::OptionSpec& spec) {
  if (spec.one_of_size() > 0) return absl::StrCat("one of: ", absl::StrJoin(spec.one_of(), ", "));
  return RangeOf(spec);
}

// Checks a number or a spelling against `spec`; `what` names the option in the message.
absl::Status CheckNumber(double value, const proto::OptionSpec& spec, const std::string& what) {
  if (!std::isfinite(value) || (HasRange(spec) && (value < spec.min() || value > spec.max()))) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: %g is outside %s", what, value, Accepted(spec)));
  }
  return absl::OkStatus();
}

absl::Status CheckText(const std::string& value, const proto::OptionSpec& spec,
                       const std::string& what) {
  if (spec.one_of_size() == 0) return absl::OkStatus();
  for (const std::string& allowed : spec.one_of()) {
    if (value == allowed) return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(what, ": '", value, "' is not ", Accepted(spec)));
}

// A present field's value as a number, for the range check (strings and bools: nullopt).
std::optional<double> NumberOf(const Message& message, const FieldDescriptor& field) {
  const Reflection& r = *message.GetReflection();
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return r.GetInt32(message, &field);
    case FieldDescriptor::CPPTYPE_INT64:
      return static_cast<double>(r.GetInt64(message, &field));
    case FieldDescriptor::CPPTYPE_UINT32:
      return r.GetUInt32(message, &field);
    case FieldDescriptor::CPPTYPE_UINT64:
      return static_cast<double>(r.GetUInt64(message, &field));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return r.GetDouble(message, &field);
    case FieldDescriptor::CPPTYPE_FLOAT:
      return r.GetFloat(message, &field);
    default:
      return std::nullopt;
  }
}

// Parses `text` into the field's type and sets it; INVALID_ARGUMENT (without the flag name) when
// it is not a value of that type.
absl::Status ParseInto(const std::string& text, const FieldDescriptor& field, Message* message) {
  const Reflection& r = *message->GetReflection();
  bool ok = true;
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      r.SetString(message, &field, text);
      break;
    case FieldDescriptor::CPPTYPE_BOOL: {
      bool v = false;
      if ((ok = absl::SimpleAtob(text, &v))) r.SetBool(message, &field, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_INT32: {
      int32_t v = 0;
      if ((ok = absl::SimpleAtoi(text, &v))) r.SetInt32(message, &field, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t v = 0;
      if ((ok = absl::SimpleAtoi(text, &v))) r.SetInt64(message, &field, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v = 0;
      if ((ok = absl::SimpleAtoi(text, &v))) r.SetUInt64(message, &field, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      double v = 0;
      if ((ok = absl::SimpleAtod(text, &v) && std::isfinite(v))) r.SetDouble(message, &field, v);
      break;
    }
    default:
      return absl::InternalError(absl::StrCat(field.full_name(), " has no command-line form"));
  }
  if (ok) return absl::OkStatus();
  const char* expected = field.cpp_type() == FieldDescriptor::CPPTYPE_BOOL     ? "true or false"
                         : field.cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE ? "a number"
                                                                               : "an integer";
  return absl::InvalidArgumentError(absl::StrCat("expects ", expected, ", got '", text, "'"));
}

// Checks the value of a present `field` against its annotation.
absl::Status CheckField(const Message& message, const FieldDescriptor& field,
                        const proto::OptionSpec& spec, const std::string& what) {
  if (field.cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
    return CheckText(message.GetReflection()->GetString(message, &field), spec, what);
  }
  if (std::optional<double> number = NumberOf(message, field)) {
    return CheckNumber(*number, spec, what);
  }
  return absl::OkStatus();
}

}  // namespace

const proto::OptionSpec* FindOptionSpec(const FieldDescriptor& field) {
  if (!field.options().HasExtension(proto::job_option)) return nullptr;
  return &field.options().GetExtension(proto::job_option);
}

std::string OptionFlagName(const FieldDescriptor& field) {
  return absl::StrReplaceAll(field.name(), {{"_", "-"}});
}

std::string OptionRangeText(const proto::OptionSpec& spec) {
  if (spec.one_of_size() > 0) return absl::StrJoin(spec.one_of(), "|");
  return HasRange(spec) ? RangeOf(spec) : "";
}

absl::Status SetOptionFromText(const std::string& text, const FieldDescriptor& field,
                               Message* message) {
  const std::string flag = absl::StrCat("--", OptionFlagName(field));
  const proto::OptionSpec* spec = FindOptionSpec(field);
  if (spec == nullptr) return absl::InternalError(absl::StrCat(flag, " is not an option"));
  if (absl::Status parsed = ParseInto(text, field, message); !parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(flag, " ", parsed.message()));
  }
  return CheckField(*message, field, *spec, flag);
}

void AddOptionFlags(OptionScope scope, const std::string& default_text, util::FlagSet* flags,
                    Message* message) {
  const google::protobuf::Descriptor& type = *message->GetDescriptor();
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor& field = *type.field(i);
    const proto::OptionSpec* spec = FindOptionSpec(field);
    if (spec == nullptr || (scope == OptionScope::kLocal && spec->cluster_only())) continue;
    const char short_name = spec->short_name().empty() ? 0 : spec->short_name()[0];
    const bool is_bool = field.cpp_type() == FieldDescriptor::CPPTYPE_BOOL;
    flags->Value(OptionFlagName(field), short_name, spec->help(), default_text,
                 OptionRangeText(*spec), is_bool, [&field, message](const std::string& text) {
                   return SetOptionFromText(text, field, message);
                 });
  }
}

absl::Status ValidateOptions(const Message& message, const std::string& prefix) {
  const google::protobuf::Descriptor& type = *message.GetDescriptor();
  const Reflection& r = *message.GetReflection();
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor& field = *type.field(i);
    const proto::OptionSpec* spec = FindOptionSpec(field);
    if (spec == nullptr || !r.HasField(message, &field)) continue;
    FSC_RETURN_IF_ERROR(CheckField(message, field, *spec, absl::StrCat(prefix, ".", field.name())));
  }
  return absl::OkStatus();
}

}  // namespace fsc::rpc
