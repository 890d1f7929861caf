// The binding between proto::TrainOptions fields and TrainOptions members (see train_spec.h).
#include "core/train/train_spec.h"

#include <string>
#include <variant>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/rpc/option_schema.h"
#include "core/util/status_macros.h"

namespace fsc::train {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

using Member = std::variant<std::string TrainOptions::*, int TrainOptions::*,
                            int64_t TrainOptions::*, double TrainOptions::*, bool TrainOptions::*>;

// The trainer's member behind each annotated field that is not cluster-only. A field missing
// here fails TrainSpecTest.EveryTrainerFieldIsBound.
struct Binding {
  const char* field;
  Member member;
};
const Binding kBindings[] = {
    {"model", &TrainOptions::model},
    {"batch", &TrainOptions::batch_size},
    {"iterations", &TrainOptions::iterations},
    {"lr", &TrainOptions::learning_rate},
    {"loss", &TrainOptions::loss},
    {"precision", &TrainOptions::precision},
    {"save_every", &TrainOptions::save_every},
    {"seed", &TrainOptions::seed},
    {"learn_mask", &TrainOptions::learn_mask},
    {"gan_weight", &TrainOptions::gan_weight},
    {"epsilon", &TrainOptions::epsilon},
};

const FieldDescriptor& FieldOf(const Binding& binding) {
  return *proto::TrainOptions::descriptor()->FindFieldByName(binding.field);
}

// Copies a present field of `spec` into its member.
void CopyToMember(const Message& spec, const FieldDescriptor& field, Member member,
                  TrainOptions* options) {
  const auto& r = *spec.GetReflection();
  auto number = [&]() -> int64_t {
    switch (field.cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32:
        return r.GetInt32(spec, &field);
      case FieldDescriptor::CPPTYPE_UINT64:
        return static_cast<int64_t>(r.GetUInt64(spec, &field));
      default:
        return r.GetInt64(spec, &field);
    }
  };
  std::visit(
      [&](auto m) {
        using T = std::decay_t<decltype(options->*m)>;
        if constexpr (std::is_same_v<T, std::string>) {
          options->*m = r.GetString(spec, &field);
        } else if constexpr (std::is_same_v<T, bool>) {
          options->*m = r.GetBool(spec, &field);
        } else if constexpr (std::is_same_v<T, double>) {
          options->*m = r.GetDouble(spec, &field);
        } else {
          options->*m = static_cast<T>(number());
        }
      },
      member);
}

// Sets `field` of `spec` from its member.
void CopyFromMember(const TrainOptions& options, Member member, const FieldDescriptor& field,
                    Message* spec) {
  const auto& r = *spec->GetReflection();
  std::visit(
      [&](auto m) {
        const auto& value = options.*m;
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, std::string>) {
          r.SetString(spec, &field, value);
        } else if constexpr (std::is_same_v<T, bool>) {
          r.SetBool(spec, &field, value);
        } else if constexpr (std::is_same_v<T, double>) {
          r.SetDouble(spec, &field, value);
        } else if (field.cpp_type() == FieldDescriptor::CPPTYPE_INT32) {
          r.SetInt32(spec, &field, static_cast<int32_t>(value));
        } else if (field.cpp_type() == FieldDescriptor::CPPTYPE_UINT64) {
          r.SetUInt64(spec, &field, static_cast<uint64_t>(value));
        } else {
          r.SetInt64(spec, &field, static_cast<int64_t>(value));
        }
      },
      member);
}

std::string DefaultText(const TrainOptions& options, Member member) {
  return std::visit(
      [&](auto m) -> std::string {
        const auto& value = options.*m;
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, std::string>) return value;
        if constexpr (std::is_same_v<T, bool>) return value ? "true" : "false";
        if constexpr (std::is_same_v<T, double>) return absl::StrFormat("%g", value);
        if constexpr (!std::is_same_v<T, std::string> && !std::is_same_v<T, bool> &&
                      !std::is_same_v<T, double>) {
          return absl::StrCat(value);
        }
      },
      member);
}

}  // namespace

void AddTrainSpecFlags(util::FlagSet* flags, TrainOptions* options) {
  for (const Binding& binding : kBindings) {
    const FieldDescriptor& field = FieldOf(binding);
    const proto::OptionSpec& spec = *rpc::FindOptionSpec(field);
    const char short_name = spec.short_name().empty() ? 0 : spec.short_name()[0];
    const bool is_bool = field.cpp_type() == FieldDescriptor::CPPTYPE_BOOL;
    const Member member = binding.member;
    flags->Value(rpc::OptionFlagName(field), short_name, spec.help(), DefaultText(*options, member),
                 rpc::OptionRangeText(spec), is_bool,
                 [&field, member, options](const std::string& text) {
                   proto::TrainOptions parsed;
                   FSC_RETURN_IF_ERROR(rpc::SetOptionFromText(text, field, &parsed));
                   CopyToMember(parsed, field, member, options);
                   return absl::OkStatus();
                 });
  }
}

void ApplyTrainSpec(const proto::TrainOptions& spec, TrainOptions* options) {
  for (const Binding& binding : kBindings) {
    const FieldDescriptor& field = FieldOf(binding);
    if (spec.GetReflection()->HasField(spec, &field)) {
      CopyToMember(spec, field, binding.member, options);
    }
  }
}

proto::TrainOptions TrainSpecOf(const TrainOptions& options) {
  proto::TrainOptions spec;
  for (const Binding& binding : kBindings) {
    CopyFromMember(options, binding.member, FieldOf(binding), &spec);
  }
  return spec;
}

}  // namespace fsc::train
