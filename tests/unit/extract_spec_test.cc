// The extract job's spec and the extractor's options: one binding for fsc extract's flags, fsc
// submit extract's fields, the worker's extract and merge tasks, and `fsc alignments smooth`.
#include "core/face/extract_spec.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "core/face/detector.h"
#include "core/rpc/option_schema.h"

namespace fsc::face {
namespace {

using google::protobuf::FieldDescriptor;

// Every annotated field, with a value other than the default that the schema accepts.
proto::ExtractOptions NonDefaultSpec() {
  proto::ExtractOptions spec;
  spec.set_detector("blazeface");
  spec.set_size(128);
  spec.set_every_n(4);
  spec.set_min_size(20);
  spec.set_min_score(0.25f);
  spec.set_re_feed(2);
  spec.set_detector_input_size(320);
  spec.set_mask_size(64);
  spec.set_smooth("off");
  spec.set_strength(0);
  spec.set_max_gap(9);
  return spec;
}

TEST(ExtractSpecTest, EveryFieldIsBound) {
  const proto::ExtractOptions spec = ExtractSpecOf(ExtractOptions());
  const google::protobuf::Descriptor& type = *proto::ExtractOptions::descriptor();
  for (int i = 0; i < type.field_count(); ++i) {
    EXPECT_TRUE(spec.GetReflection()->HasField(spec, type.field(i))) << type.field(i)->name();
  }
  // ... and NonDefaultSpec covers them all, so the next test reaches every member.
  const proto::ExtractOptions all = NonDefaultSpec();
  for (int i = 0; i < type.field_count(); ++i) {
    EXPECT_TRUE(all.GetReflection()->HasField(all, type.field(i))) << type.field(i)->name();
  }
}

TEST(ExtractSpecTest, EveryFieldReachesItsMember) {
  ExtractOptions options;
  ApplyExtractSpec(NonDefaultSpec(), &options);
  EXPECT_EQ(options.detector, "blazeface");
  EXPECT_EQ(options.size, 128);
  EXPECT_EQ(options.every_n, 4);
  EXPECT_FLOAT_EQ(options.min_size, 20);
  EXPECT_FLOAT_EQ(options.min_score, 0.25f);
  EXPECT_EQ(options.re_feed, 2);
  EXPECT_EQ(options.detector_input_size, 320);
  EXPECT_EQ(options.mask_size, 64);
  EXPECT_EQ(options.smooth, SmoothMode::kOff);
  EXPECT_DOUBLE_EQ(options.stabilize.strength, 0);
  EXPECT_EQ(options.stabilize.max_gap, 9);
  // And back: the spec of these options is the spec applied.
  EXPECT_EQ(ExtractSpecOf(options).SerializeAsString(), NonDefaultSpec().SerializeAsString());
}

TEST(ExtractSpecTest, ApplyingSetsOnlyPresentFields) {
  ExtractOptions options;
  options.models_dir = "/models";  // the worker's own settings stay
  proto::ExtractOptions spec;
  spec.set_max_gap(0);
  ApplyExtractSpec(spec, &options);
  EXPECT_EQ(options.stabilize.max_gap, 0);
  EXPECT_EQ(options.models_dir, "/models");
  EXPECT_EQ(options.size, ExtractOptions().size);
  EXPECT_EQ(options.smooth, SmoothMode::kAuto);
  EXPECT_DOUBLE_EQ(options.stabilize.strength, StabilizeOptions().strength);
}

TEST(ExtractSpecTest, DefaultsAreAcceptedByTheSchema) {
  EXPECT_TRUE(rpc::ValidateOptions(ExtractSpecOf(ExtractOptions()), "spec.extract").ok());
  EXPECT_TRUE(rpc::ValidateOptions(NonDefaultSpec(), "spec.extract").ok());
}

TEST(ExtractSpecTest, ValidatorAcceptsExactlyTheSchemasRanges) {
  // One range per option: ValidateExtractOptions (which RunExtraction applies) takes the schema's
  // bounds and refuses just outside them.
  const google::protobuf::Descriptor& type = *proto::ExtractOptions::descriptor();
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor& field = *type.field(i);
    const proto::OptionSpec& schema = *rpc::FindOptionSpec(field);
    if (schema.min() == 0 && schema.max() == 0) continue;
    const bool whole = field.cpp_type() != FieldDescriptor::CPPTYPE_DOUBLE &&
                       field.cpp_type() != FieldDescriptor::CPPTYPE_FLOAT;
    const double step = whole ? 1 : 0.01;
    for (const auto& [value, ok] :
         std::vector<std::pair<double, bool>>{{schema.min(), true},
                                              {schema.max(), true},
                                              {schema.min() - step, false},
                                              {schema.max() + step, false}}) {
      proto::ExtractOptions spec;
      rpc::SetOptionValue(rpc::OptionValue(value), field, &spec);
      ExtractOptions options;
      ApplyExtractSpec(spec, &options);
      EXPECT_EQ(ValidateExtractOptions(options).ok(), ok) << field.name() << " " << value;
    }
  }
}

TEST(ExtractSpecTest, SchemaDetectorsAreTheExtractorsDetectors) {
  const proto::OptionSpec& spec =
      *rpc::FindOptionSpec(*proto::ExtractOptions::descriptor()->FindFieldByName("detector"));
  const std::vector<std::string> names = DetectorNames();
  EXPECT_EQ(std::set<std::string>(spec.one_of().begin(), spec.one_of().end()),
            std::set<std::string>(names.begin(), names.end()));
}

TEST(ExtractSpecTest, FlagsSetMembersAndShowTheirDefaults) {
  ExtractOptions options;
  util::FlagSet flags("fsc extract", "", "");
  AddExtractSpecFlags(&flags, &options);
  const std::string help = flags.Help();
  EXPECT_NE(help.find("(32..4096; default: 256)"), std::string::npos) << help;
  EXPECT_NE(help.find("(ssd|tiny|blazeface; default: ssd)"), std::string::npos) << help;
  EXPECT_NE(help.find("(0..1; default: 0.5)"), std::string::npos) << help;
  EXPECT_NE(help.find("(auto|off; default: auto)"), std::string::npos) << help;
  std::vector<std::string> positional;
  ASSERT_TRUE(flags.Parse({"-s", "112", "--smooth", "off", "--max-gap", "0"}, &positional).ok());
  EXPECT_EQ(options.size, 112);
  EXPECT_EQ(options.smooth, SmoothMode::kOff);
  EXPECT_EQ(options.stabilize.max_gap, 0);
  EXPECT_EQ(options.every_n, 1) << "a flag not given leaves the default";
  EXPECT_FALSE(flags.Parse({"--size", "31"}, &positional).ok());
  EXPECT_EQ(options.size, 112);
}

TEST(ExtractSpecTest, StabilizeFlagsAreTheSameOptions) {
  StabilizeOptions options;
  util::FlagSet flags("fsc alignments smooth", "", "");
  AddStabilizeSpecFlags(&flags, &options);
  EXPECT_NE(flags.Help().find("(0..8; default: 1)"), std::string::npos) << flags.Help();
  EXPECT_EQ(flags.Help().find("--smooth"), std::string::npos) << flags.Help();
  std::vector<std::string> positional;
  ASSERT_TRUE(flags.Parse({"--strength", "2.5", "--max-gap", "7"}, &positional).ok());
  EXPECT_DOUBLE_EQ(options.strength, 2.5);
  EXPECT_EQ(options.max_gap, 7);
  absl::Status status = flags.Parse({"--max-gap", "61"}, &positional);
  EXPECT_NE(status.message().find("--max-gap: 61 is outside 0..60"), std::string::npos) << status;
}

}  // namespace
}  // namespace fsc::face
