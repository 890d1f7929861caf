// Flags, help and checks derived from the OptionSpec annotations (see option_schema.h).
#include "core/rpc/option_schema.h"

#include <cmath>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "core/util/status_macros.h"
#include "google/protobuf/message.h"

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

// Parses `text` as a T with `parse` and, when that succeeds, sets `field` to it with `set` (one
// of Reflection's setters).
template <typename T, typename Parse>
bool ParseAndSet(const std::string& text, Parse parse,
                 void (Reflection::*set)(Message*, const FieldDescriptor*, T) const,
                 const FieldDescriptor& field, Message* message) {
  T value{};
  if (!parse(text, &value)) return false;
  (message->GetReflection()->*set)(message, &field, value);
  return true;
}

// Parses `text` into the field's type and sets it; INVALID_ARGUMENT (without the flag name) when
// it is not a value of that type.
absl::Status ParseInto(const std::string& text, const FieldDescriptor& field, Message* message) {
  auto whole = [](absl::string_view t, auto* v) { return absl::SimpleAtoi(t, v); };
  auto flag = [](absl::string_view t, bool* v) { return absl::SimpleAtob(t, v); };
  auto real = [](absl::string_view t, double* v) {
    return absl::SimpleAtod(t, v) && std::isfinite(*v);
  };
  auto real32 = [](absl::string_view t, float* v) {
    return absl::SimpleAtof(t, v) && std::isfinite(*v);
  };
  bool ok = true;
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      message->GetReflection()->SetString(message, &field, text);
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      ok = ParseAndSet<bool>(text, flag, &Reflection::SetBool, field, message);
      break;
    case FieldDescriptor::CPPTYPE_INT32:
      ok = ParseAndSet<int32_t>(text, whole, &Reflection::SetInt32, field, message);
      break;
    case FieldDescriptor::CPPTYPE_INT64:
      ok = ParseAndSet<int64_t>(text, whole, &Reflection::SetInt64, field, message);
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
      ok = ParseAndSet<uint32_t>(text, whole, &Reflection::SetUInt32, field, message);
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      ok = ParseAndSet<uint64_t>(text, whole, &Reflection::SetUInt64, field, message);
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      ok = ParseAndSet<double>(text, real, &Reflection::SetDouble, field, message);
      break;
    case FieldDescriptor::CPPTYPE_FLOAT:
      ok = ParseAndSet<float>(text, real32, &Reflection::SetFloat, field, message);
      break;
    default:
      return absl::InternalError(absl::StrCat(field.full_name(), " has no command-line form"));
  }
  if (ok) return absl::OkStatus();
  const FieldDescriptor::CppType type = field.cpp_type();
  const char* expected =
      type == FieldDescriptor::CPPTYPE_BOOL ? "true or false"
      : type == FieldDescriptor::CPPTYPE_DOUBLE || type == FieldDescriptor::CPPTYPE_FLOAT
          ? "a number"
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

// Checks every present annotated field of `message`, naming a field as `name` spells it.
template <typename Name>
absl::Status CheckPresentFields(const Message& message, Name name) {
  const google::protobuf::Descriptor& type = *message.GetDescriptor();
  const Reflection& r = *message.GetReflection();
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor& field = *type.field(i);
    const proto::OptionSpec* spec = FindOptionSpec(field);
    if (spec == nullptr || !r.HasField(message, &field)) continue;
    FSC_RETURN_IF_ERROR(CheckField(message, field, *spec, name(field)));
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
                    Message* message, const std::set<std::string>& leave_out) {
  const google::protobuf::Descriptor& type = *message->GetDescriptor();
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor& field = *type.field(i);
    const proto::OptionSpec* spec = FindOptionSpec(field);
    if (spec == nullptr || (scope == OptionScope::kLocal && spec->cluster_only())) continue;
    if (leave_out.count(field.name()) > 0) continue;
    AddOptionFlag(
        field, default_text,
        [&field, message](const OptionValue& value) { SetOptionValue(value, field, message); },
        flags);
  }
}

OptionValue GetOptionValue(const Message& message, const FieldDescriptor& field) {
  const Reflection& r = *message.GetReflection();
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      return r.GetString(message, &field);
    case FieldDescriptor::CPPTYPE_BOOL:
      return r.GetBool(message, &field);
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return r.GetDouble(message, &field);
    case FieldDescriptor::CPPTYPE_FLOAT:
      // Through its shortest text, so that 0.55f reads as 0.55, not 0.550000011920929.
      return static_cast<double>(std::stod(absl::StrCat(r.GetFloat(message, &field))));
    case FieldDescriptor::CPPTYPE_INT32:
      return int64_t{r.GetInt32(message, &field)};
    case FieldDescriptor::CPPTYPE_UINT32:
      return int64_t{r.GetUInt32(message, &field)};
    case FieldDescriptor::CPPTYPE_UINT64:
      return static_cast<int64_t>(r.GetUInt64(message, &field));
    default:
      return r.GetInt64(message, &field);
  }
}

void SetOptionValue(const OptionValue& value, const FieldDescriptor& field, Message* message) {
  const Reflection& r = *message->GetReflection();
  const FieldDescriptor* f = &field;
  if (const auto* text = std::get_if<std::string>(&value)) {
    r.SetString(message, f, *text);
    return;
  }
  if (const auto* flag = std::get_if<bool>(&value)) {
    r.SetBool(message, f, *flag);
    return;
  }
  const double real = std::holds_alternative<double>(value)
                          ? std::get<double>(value)
                          : static_cast<double>(std::get<int64_t>(value));
  const int64_t whole =
      std::holds_alternative<int64_t>(value) ? std::get<int64_t>(value) : std::llround(real);
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return r.SetInt32(message, f, static_cast<int32_t>(whole));
    case FieldDescriptor::CPPTYPE_INT64:
      return r.SetInt64(message, f, whole);
    case FieldDescriptor::CPPTYPE_UINT32:
      return r.SetUInt32(message, f, static_cast<uint32_t>(whole));
    case FieldDescriptor::CPPTYPE_UINT64:
      return r.SetUInt64(message, f, static_cast<uint64_t>(whole));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return r.SetDouble(message, f, real);
    case FieldDescriptor::CPPTYPE_FLOAT:
      return r.SetFloat(message, f, static_cast<float>(real));
    default:
      return;
  }
}

std::string OptionValueText(const OptionValue& value) {
  if (const auto* text = std::get_if<std::string>(&value)) return *text;
  if (const auto* flag = std::get_if<bool>(&value)) return *flag ? "true" : "false";
  if (const auto* whole = std::get_if<int64_t>(&value)) return absl::StrCat(*whole);
  return absl::StrFormat("%g", std::get<double>(value));
}

void AddOptionFlag(const FieldDescriptor& field, const std::string& default_text,
                   std::function<void(const OptionValue&)> set, util::FlagSet* flags) {
  const proto::OptionSpec& spec = *FindOptionSpec(field);
  const char short_name = spec.short_name().empty() ? 0 : spec.short_name()[0];
  const bool is_bool = field.cpp_type() == FieldDescriptor::CPPTYPE_BOOL;
  flags->Value(
      OptionFlagName(field), short_name, spec.help(), default_text, OptionRangeText(spec), is_bool,
      [&field, set = std::move(set)](const std::string& text) {
        // A scratch message of the field's type: parsed and checked like a job's.
        std::unique_ptr<Message> parsed(google::protobuf::MessageFactory::generated_factory()
                                            ->GetPrototype(field.containing_type())
                                            ->New());
        FSC_RETURN_IF_ERROR(SetOptionFromText(text, field, parsed.get()));
        set(GetOptionValue(*parsed, field));
        return absl::OkStatus();
      });
}

absl::Status ValidateOptions(const Message& message, const std::string& prefix) {
  return CheckPresentFields(message, [&prefix](const FieldDescriptor& field) {
    return absl::StrCat(prefix, ".", field.name());
  });
}

absl::Status ValidateOptionFlags(const Message& message) {
  return CheckPresentFields(message, [](const FieldDescriptor& field) {
    return absl::StrCat("--", OptionFlagName(field));
  });
}

}  // namespace fsc::rpc
