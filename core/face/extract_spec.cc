// The binding between proto::ExtractOptions fields and ExtractOptions members (see
// extract_spec.h).
#include "core/face/extract_spec.h"

#include <string>
#include <vector>

#include "core/rpc/option_binding.h"

namespace fsc::face {
namespace {

using rpc::Bind;
using rpc::OptionBinding;

// The steady-faces options, shared by extraction and `fsc alignments smooth`.
const std::vector<OptionBinding<StabilizeOptions>>& StabilizeBindings() {
  static const auto* const bindings = new std::vector<OptionBinding<StabilizeOptions>>{
      Bind<StabilizeOptions>(
          "strength", [](auto& o) -> auto& { return o.strength; }),
      Bind<StabilizeOptions>(
          "max_gap", [](auto& o) -> auto& { return o.max_gap; }),
  };
  return *bindings;
}

std::string SmoothModeName(SmoothMode mode) { return mode == SmoothMode::kOff ? "off" : "auto"; }

// The member behind each annotated field. A field missing here fails
// ExtractSpecTest.EveryFieldIsBound.
const std::vector<OptionBinding<ExtractOptions>>& ExtractBindings() {
  static const auto* const bindings = [] {
    auto* list = new std::vector<OptionBinding<ExtractOptions>>{
        Bind<ExtractOptions>(
            "detector", [](auto& o) -> auto& { return o.detector; }),
        Bind<ExtractOptions>(
            "size", [](auto& o) -> auto& { return o.size; }),
        Bind<ExtractOptions>(
            "every_n", [](auto& o) -> auto& { return o.every_n; }),
        Bind<ExtractOptions>(
            "min_size", [](auto& o) -> auto& { return o.min_size; }),
        Bind<ExtractOptions>(
            "min_score", [](auto& o) -> auto& { return o.min_score; }),
        Bind<ExtractOptions>(
            "re_feed", [](auto& o) -> auto& { return o.re_feed; }),
        Bind<ExtractOptions>(
            "detector_input_size", [](auto& o) -> auto& { return o.detector_input_size; }),
        Bind<ExtractOptions>(
            "mask_size", [](auto& o) -> auto& { return o.mask_size; }),
        rpc::BindNamed<ExtractOptions>(
            "smooth", [](auto& o) -> auto& { return o.smooth; }, SmoothModeName,
            [](const std::string& name) {
              return name == "off" ? SmoothMode::kOff : SmoothMode::kAuto;
            }),
    };
    // The stabilisation's own bindings, reached through ExtractOptions::stabilize.
    for (const OptionBinding<StabilizeOptions>& inner : StabilizeBindings()) {
      list->push_back({inner.field,
                       [get = inner.get](const ExtractOptions& o) { return get(o.stabilize); },
                       [set = inner.set](const rpc::OptionValue& v, ExtractOptions* o) {
                         set(v, &o->stabilize);
                       }});
    }
    return list;
  }();
  return *bindings;
}

}  // namespace

void AddExtractSpecFlags(util::FlagSet* flags, ExtractOptions* options) {
  rpc::AddBoundFlags<proto::ExtractOptions>(ExtractBindings(), flags, options);
}

void AddStabilizeSpecFlags(util::FlagSet* flags, StabilizeOptions* options) {
  rpc::AddBoundFlags<proto::ExtractOptions>(StabilizeBindings(), flags, options);
}

void ApplyExtractSpec(const proto::ExtractOptions& spec, ExtractOptions* options) {
  rpc::ApplyBound(ExtractBindings(), spec, options);
}

proto::ExtractOptions ExtractSpecOf(const ExtractOptions& options) {
  return rpc::BoundSpecOf<proto::ExtractOptions>(ExtractBindings(), options);
}

proto::ExtractOptions StabilizeSpecOf(const StabilizeOptions& options) {
  return rpc::BoundSpecOf<proto::ExtractOptions>(StabilizeBindings(), options);
}

}  // namespace fsc::face
