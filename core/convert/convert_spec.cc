// The binding between proto::ConvertOptions fields and ConvertOptions members (see
// convert_spec.h).
#include "core/convert/convert_spec.h"

#include <string>
#include <vector>

#include "core/convert/color_transfer.h"
#include "core/convert/composite.h"
#include "core/convert/swap_model.h"
#include "core/rpc/option_binding.h"

namespace fsc::convert {
namespace {

using rpc::Bind;
using rpc::BindNamed;
using rpc::OptionBinding;

// The schema's one_of lists exactly the spellings these parse (ConvertSpecTest checks), so a
// value that passed the schema always parses.
std::string DirectionName(SwapDirection d) {
  return d == SwapDirection::kBToA ? "b-to-a" : "a-to-b";
}
SwapDirection DirectionOf(const std::string& name) {
  return ParseSwapDirection(name).value_or(SwapDirection::kAToB);
}
std::string SharpenName(SharpenMethod m) {
  return m == SharpenMethod::kUnsharp ? "unsharp" : "none";
}
SharpenMethod SharpenOf(const std::string& name) {
  return ParseSharpenMethod(name).value_or(SharpenMethod::kNone);
}
ColorMethod ColorOf(const std::string& name) {
  return ParseColorMethod(name).value_or(ColorMethod::kAvgColor);
}

// The member behind each annotated field. A field missing here fails
// ConvertSpecTest.EveryFieldIsBound.
const std::vector<OptionBinding<ConvertOptions>>& ConvertBindings() {
  static const auto* const bindings = new std::vector<OptionBinding<ConvertOptions>>{
      BindNamed<ConvertOptions>(
          "swap", [](auto& o) -> auto& { return o.direction; }, DirectionName, DirectionOf),
      BindNamed<ConvertOptions>(
          "color", [](auto& o) -> auto& { return o.blend.color; }, ColorMethodName, ColorOf),
      Bind<ConvertOptions>(
          "mask_erode", [](auto& o) -> auto& { return o.blend.erode; }),
      Bind<ConvertOptions>(
          "mask_blur", [](auto& o) -> auto& { return o.blend.blur; }),
      Bind<ConvertOptions>(
          "codec", [](auto& o) -> auto& { return o.video.codec; }),
      Bind<ConvertOptions>(
          "crf", [](auto& o) -> auto& { return o.video.crf; }),
      Bind<ConvertOptions>(
          "mask", [](auto& o) -> auto& { return o.mask; }),
      BindNamed<ConvertOptions>(
          "sharpen", [](auto& o) -> auto& { return o.blend.sharpen; }, SharpenName, SharpenOf),
      Bind<ConvertOptions>(
          "sharpen_amount", [](auto& o) -> auto& { return o.blend.sharpen_amount; }),
      Bind<ConvertOptions>(
          "preset", [](auto& o) -> auto& { return o.video.preset; }),
      Bind<ConvertOptions>(
          "batch", [](auto& o) -> auto& { return o.batch_size; }),
      Bind<ConvertOptions>(
          "precision", [](auto& o) -> auto& { return o.precision; }),
      Bind<ConvertOptions>(
          "jpeg_quality", [](auto& o) -> auto& { return o.jpeg_quality; }),
  };
  return *bindings;
}

}  // namespace

void AddConvertSpecFlags(util::FlagSet* flags, ConvertOptions* options) {
  rpc::AddBoundFlags<proto::ConvertOptions>(ConvertBindings(), flags, options);
}

void ApplyConvertSpec(const proto::ConvertOptions& spec, ConvertOptions* options) {
  rpc::ApplyBound(ConvertBindings(), spec, options);
}

proto::ConvertOptions ConvertSpecOf(const ConvertOptions& options) {
  return rpc::BoundSpecOf<proto::ConvertOptions>(ConvertBindings(), options);
}

}  // namespace fsc::convert
