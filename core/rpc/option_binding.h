// The binding between a job-options message (fsc.proto, described by its OptionSpec annotations)
// and the C++ options struct of the code that applies it: which field sets which member. One list
// of bindings gives a local verb its flags (with the struct's defaults in --help), the worker the
// application of a job's spec, and the spec of a struct's values, so the three cannot drift.
#ifndef FSC_CORE_RPC_OPTION_BINDING_H_
#define FSC_CORE_RPC_OPTION_BINDING_H_

#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "core/rpc/option_schema.h"
#include "core/util/flags.h"
#include "google/protobuf/message.h"

namespace fsc::rpc {

// One field of a message and the member of `Options` behind it.
template <typename Options>
struct OptionBinding {
  const char* field;                                      // the field's name in the message
  std::function<OptionValue(const Options&)> get;         // the member's value
  std::function<void(const OptionValue&, Options*)> set;  // sets the member (value checked)
};

// `value` as a T (a member's type): numbers are cast, text and flags taken as they are.
template <typename T>
T OptionValueAs(const OptionValue& value) {
  return std::visit(
      [](const auto& v) -> T {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string> || std::is_same_v<V, std::string>) {
          if constexpr (std::is_same_v<T, V>) return v;
          return T{};  // a text field bound to a number (or back): a binding mistake
        } else {
          return static_cast<T>(v);
        }
      },
      value);
}

// A member's value as an OptionValue.
template <typename T>
OptionValue ToOptionValue(const T& value) {
  if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, bool>) {
    return value;
  } else if constexpr (std::is_integral_v<T>) {
    return static_cast<int64_t>(value);
  } else {
    return static_cast<double>(value);
  }
}

// Binds `field` to the member `access(options)` returns a reference to, e.g.
// Bind<ExtractOptions>("strength", [](auto& o) -> auto& { return o.stabilize.strength; }).
template <typename Options, typename Access>
OptionBinding<Options> Bind(const char* field, Access access) {
  return {field, [access](const Options& o) { return ToOptionValue(access(o)); },
          [access](const OptionValue& v, Options* o) {
            auto& member = access(*o);
            member = OptionValueAs<std::decay_t<decltype(member)>>(v);
          }};
}

// Binds a field of spellings (its one_of) to an enum member: `name` gives a value's spelling and
// `parse` the value of a spelling the schema accepted.
template <typename Options, typename Access, typename Name, typename Parse>
OptionBinding<Options> BindNamed(const char* field, Access access, Name name, Parse parse) {
  return {field, [access, name](const Options& o) { return OptionValue(name(access(o))); },
          [access, parse](const OptionValue& v, Options* o) {
            access(*o) = parse(std::get<std::string>(v));
          }};
}

// The descriptor of `binding`'s field in `Message`.
template <typename Message, typename Options>
const google::protobuf::FieldDescriptor& BoundField(const OptionBinding<Options>& binding) {
  return *Message::descriptor()->FindFieldByName(binding.field);
}

// Declares one flag per binding, setting its member of `options` when given; --help shows the
// member's current value as the default.
template <typename Message, typename Options>
void AddBoundFlags(const std::vector<OptionBinding<Options>>& bindings, util::FlagSet* flags,
                   Options* options) {
  for (const OptionBinding<Options>& binding : bindings) {
    auto set = binding.set;
    AddOptionFlag(
        BoundField<Message>(binding), OptionValueText(binding.get(*options)),
        [set, options](const OptionValue& value) { set(value, options); }, flags);
  }
}

// Every bound field present in `spec` sets its member; the others keep theirs.
template <typename Message, typename Options>
void ApplyBound(const std::vector<OptionBinding<Options>>& bindings, const Message& spec,
                Options* options) {
  for (const OptionBinding<Options>& binding : bindings) {
    const google::protobuf::FieldDescriptor& field = BoundField<Message>(binding);
    if (spec.GetReflection()->HasField(spec, &field)) {
      binding.set(GetOptionValue(spec, field), options);
    }
  }
}

// The spec with every bound field present, holding `options`' values.
template <typename Message, typename Options>
Message BoundSpecOf(const std::vector<OptionBinding<Options>>& bindings, const Options& options) {
  Message spec;
  for (const OptionBinding<Options>& binding : bindings) {
    SetOptionValue(binding.get(options), BoundField<Message>(binding), &spec);
  }
  return spec;
}

}  // namespace fsc::rpc

#endif  // FSC_CORE_RPC_OPTION_BINDING_H_
