// The convert job's spec and the converter's options: one binding for fsc convert's flags, fsc
// submit convert|swap's fields and the worker's convert task.
#include "core/convert/convert_spec.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "core/convert/color_transfer.h"
#include "core/convert/composite.h"
#include "core/convert/swap_model.h"
#include "core/rpc/option_schema.h"

namespace fsc::convert {
namespace {

using google::protobuf::FieldDescriptor;

// Every annotated field, with a value other than the default that the schema accepts.
proto::ConvertOptions NonDefaultSpec() {
  proto::ConvertOptions spec;
  spec.set_swap("b-to-a");
  spec.set_color("rct");
  spec.set_mask_erode(-3);
  spec.set_mask_blur(0);
  spec.set_codec("libx265");
  spec.set_crf(0);
  spec.set_mask("hull");
  spec.set_sharpen("unsharp");
  spec.set_sharpen_amount(1.5);
  spec.set_preset("veryfast");
  spec.set_batch(8);
  spec.set_precision("fp32");
  spec.set_jpeg_quality(80);
  return spec;
}

TEST(ConvertSpecTest, EveryFieldIsBound) {
  const proto::ConvertOptions spec = ConvertSpecOf(ConvertOptions());
  const proto::ConvertOptions all = NonDefaultSpec();
  const google::protobuf::Descriptor& type = *proto::ConvertOptions::descriptor();
  for (int i = 0; i < type.field_count(); ++i) {
    EXPECT_TRUE(spec.GetReflection()->HasField(spec, type.field(i))) << type.field(i)->name();
    EXPECT_TRUE(all.GetReflection()->HasField(all, type.field(i))) << type.field(i)->name();
  }
}

TEST(ConvertSpecTest, EveryFieldReachesItsMember) {
  ConvertOptions options;
  ApplyConvertSpec(NonDefaultSpec(), &options);
  EXPECT_EQ(options.direction, SwapDirection::kBToA);
  EXPECT_EQ(options.blend.color, ColorMethod::kRct);
  EXPECT_DOUBLE_EQ(options.blend.erode, -3);
  EXPECT_DOUBLE_EQ(options.blend.blur, 0);
  EXPECT_EQ(options.video.codec, "libx265");
  EXPECT_EQ(options.video.crf, 0);
  EXPECT_EQ(options.mask, "hull");
  EXPECT_EQ(options.blend.sharpen, SharpenMethod::kUnsharp);
  EXPECT_DOUBLE_EQ(options.blend.sharpen_amount, 1.5);
  EXPECT_EQ(options.video.preset, "veryfast");
  EXPECT_EQ(options.batch_size, 8);
  EXPECT_EQ(options.precision, "fp32");
  EXPECT_EQ(options.jpeg_quality, 80);
  EXPECT_EQ(ConvertSpecOf(options).SerializeAsString(), NonDefaultSpec().SerializeAsString());
}

TEST(ConvertSpecTest, ApplyingSetsOnlyPresentFields) {
  ConvertOptions options;
  options.threads = 7;  // the worker's own setting stays
  proto::ConvertOptions spec;
  spec.set_crf(0);  // 0 is a quality that can be asked for (it was "unset" before)
  ApplyConvertSpec(spec, &options);
  EXPECT_EQ(options.video.crf, 0);
  EXPECT_EQ(options.threads, 7);
  EXPECT_EQ(options.blend.color, ConvertOptions().blend.color);
  EXPECT_DOUBLE_EQ(options.blend.blur, ConvertOptions().blend.blur);
  EXPECT_EQ(options.video.codec, ConvertOptions().video.codec);
}

TEST(ConvertSpecTest, DefaultsAreAcceptedByTheSchema) {
  EXPECT_TRUE(rpc::ValidateOptions(ConvertSpecOf(ConvertOptions()), "spec.convert").ok());
  EXPECT_TRUE(rpc::ValidateOptions(NonDefaultSpec(), "spec.convert").ok());
}

TEST(ConvertSpecTest, ValidatorAcceptsExactlyTheSchemasRanges) {
  // One range per option: ValidateConvertOptions (which RunConversion applies) takes the schema's
  // bounds and refuses just outside them.
  const google::protobuf::Descriptor& type = *proto::ConvertOptions::descriptor();
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor& field = *type.field(i);
    const proto::OptionSpec& schema = *rpc::FindOptionSpec(field);
    if (schema.min() == 0 && schema.max() == 0) continue;
    const double step = field.cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE ? 0.01 : 1;
    for (const auto& [value, ok] :
         std::vector<std::pair<double, bool>>{{schema.min(), true},
                                              {schema.max(), true},
                                              {schema.min() - step, false},
                                              {schema.max() + step, false}}) {
      proto::ConvertOptions spec;
      rpc::SetOptionValue(rpc::OptionValue(value), field, &spec);
      ConvertOptions options;
      ApplyConvertSpec(spec, &options);
      EXPECT_EQ(ValidateConvertOptions(options).ok(), ok) << field.name() << " " << value;
    }
  }
}

TEST(ConvertSpecTest, EverySpellingOfTheSchemaIsTheConvertersOwn) {
  auto spellings = [](const char* name) {
    const proto::OptionSpec& spec =
        *rpc::FindOptionSpec(*proto::ConvertOptions::descriptor()->FindFieldByName(name));
    return std::vector<std::string>(spec.one_of().begin(), spec.one_of().end());
  };
  const std::vector<std::string> colors = ColorMethodNames();
  EXPECT_EQ(spellings("color"), colors);
  for (const std::string& swap : spellings("swap")) {
    EXPECT_TRUE(ParseSwapDirection(swap).ok()) << swap;
  }
  for (const std::string& sharpen : spellings("sharpen")) {
    EXPECT_TRUE(ParseSharpenMethod(sharpen).ok()) << sharpen;
  }
  for (const std::string& precision : spellings("precision")) {
    EXPECT_TRUE(ParseInferencePrecision(precision).ok()) << precision;
  }
  for (const std::string& preset : spellings("preset")) {
    ConvertOptions options;
    options.video.preset = preset;
    EXPECT_TRUE(ValidateConvertOptions(options).ok()) << preset;
  }
  ConvertOptions unknown;
  unknown.video.preset = "warp";
  EXPECT_FALSE(ValidateConvertOptions(unknown).ok());
}

TEST(ConvertSpecTest, FlagsSetMembersAndShowTheirDefaults) {
  ConvertOptions options;
  util::FlagSet flags("fsc convert", "", "");
  AddConvertSpecFlags(&flags, &options);
  const std::string help = flags.Help();
  EXPECT_NE(help.find("(0..63; default: 23)"), std::string::npos) << help;
  EXPECT_NE(help.find("(a-to-b|b-to-a; default: a-to-b)"), std::string::npos) << help;
  EXPECT_NE(help.find("default: avg-color)"), std::string::npos) << help;
  EXPECT_NE(help.find("(0..128; default: 8)"), std::string::npos) << help;
  std::vector<std::string> positional;
  ASSERT_TRUE(
      flags.Parse({"-c", "none", "--swap", "b-to-a", "--mask-erode", "-2", "-b", "4"}, &positional)
          .ok());
  EXPECT_EQ(options.blend.color, ColorMethod::kNone);
  EXPECT_EQ(options.direction, SwapDirection::kBToA);
  EXPECT_DOUBLE_EQ(options.blend.erode, -2);
  EXPECT_EQ(options.batch_size, 4);
  EXPECT_EQ(options.video.crf, 23) << "a flag not given leaves the default";
  EXPECT_FALSE(flags.Parse({"--color", "sepia"}, &positional).ok());
  EXPECT_EQ(options.blend.color, ColorMethod::kNone);
}

}  // namespace
}  // namespace fsc::convert
