// Job options described once, by their annotations in fsc.proto (OptionSpec on each field of
// TrainOptions and the other option messages): the flags of the verbs that set them, their help
// text and accepted values, and the checks the coordinator applies to a submitted job all come
// from there. Fields have explicit presence: a flag that is given sets its field; one that is not
// leaves it unset, and whoever applies the message keeps its own default.
#ifndef FSC_CORE_RPC_OPTION_SCHEMA_H_
#define FSC_CORE_RPC_OPTION_SCHEMA_H_

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <variant>

#include "absl/status/status.h"
#include "core/util/flags.h"
#include "google/protobuf/message.h"
#include "proto/fsc.pb.h"

namespace fsc::rpc {

// Which annotated fields a verb offers: all of them (`fsc submit`), or all but the cluster-only
// ones (local verbs, which have their own flags for those).
enum class OptionScope { kAll, kLocal };

// The annotation of `field`; nullptr when it is not a user option.
const proto::OptionSpec* FindOptionSpec(const google::protobuf::FieldDescriptor& field);

// The command-line spelling of `field`: its name with '-' for '_'.
std::string OptionFlagName(const google::protobuf::FieldDescriptor& field);

// What --help shows of the accepted values: "1..4096" or "auto|fp32|bf16", empty for any.
std::string OptionRangeText(const proto::OptionSpec& spec);

// Parses `text` as `field`'s type, checks it against the field's annotation and sets it in
// `message` (marking it present). INVALID_ARGUMENT naming --flag, the value and what is accepted.
absl::Status SetOptionFromText(const std::string& text,
                               const google::protobuf::FieldDescriptor& field,
                               google::protobuf::Message* message);

// Declares on `flags` one flag per annotated field of `message` within `scope`, each setting its
// field when given. --help shows `default_text` as every flag's default (e.g. "fsc train's").
// Fields named in `leave_out` get no flag (a verb that offers two messages whose field names
// clash, e.g. `fsc submit swap`'s train and convert --batch).
void AddOptionFlags(OptionScope scope, const std::string& default_text, util::FlagSet* flags,
                    google::protobuf::Message* message,
                    const std::set<std::string>& leave_out = {});

// An option's value as the code that applies it holds it: text, a flag, a whole or a real number.
// The spec binders (core/train/train_spec.h, core/face/extract_spec.h, ...) move values between
// proto fields and C++ option structs through it.
using OptionValue = std::variant<std::string, bool, int64_t, double>;

// The value of `field` in `message` (its default when not present).
OptionValue GetOptionValue(const google::protobuf::Message& message,
                           const google::protobuf::FieldDescriptor& field);

// Sets `field` of `message` (marking it present) to `value`, converted to the field's type:
// numbers are cast (a real number rounded to the nearest whole one for an integer field).
void SetOptionValue(const OptionValue& value, const google::protobuf::FieldDescriptor& field,
                    google::protobuf::Message* message);

// The value as --help shows a default: text as is, true/false, numbers as people write them.
std::string OptionValueText(const OptionValue& value);

// Declares on `flags` the flag of the annotated `field`: the text given is parsed and checked as
// SetOptionFromText does, then handed to `set`. --help shows `default_text` as its default.
void AddOptionFlag(const google::protobuf::FieldDescriptor& field, const std::string& default_text,
                   std::function<void(const OptionValue&)> set, util::FlagSet* flags);

// Checks every present annotated field of `message` against its annotation: INVALID_ARGUMENT
// "<prefix>.<field>: <value> is outside <min>..<max>" or "... is not one of: ...".
absl::Status ValidateOptions(const google::protobuf::Message& message, const std::string& prefix);

// The same checks, naming a field by its flag as the flags' own checks do: "--<flag>: <value> is
// outside <min>..<max>" or "--<flag>: '<value>' is not one of: ...". For options that reach the
// code that applies them from a C++ struct (a local verb's, the worker's), checked through the
// spec of the struct's values (e.g. face::ExtractSpecOf), so their ranges are the schema's only.
absl::Status ValidateOptionFlags(const google::protobuf::Message& message);

}  // namespace fsc::rpc

#endif  // FSC_CORE_RPC_OPTION_SCHEMA_H_
