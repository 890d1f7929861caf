// Job options from their fsc.proto annotations: flags that set fields with presence, the help
// they show, and the coordinator's checks of a submitted spec.
#include "core/rpc/option_schema.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace fsc::rpc {
namespace {

// Parses `args` with the train options declared on a fresh FlagSet into `train`.
absl::Status ParseTrain(const std::vector<std::string>& args, proto::TrainOptions* train,
                        OptionScope scope = OptionScope::kAll) {
  util::FlagSet flags("fsc test", "", "");
  AddOptionFlags(scope, "", &flags, train);
  std::vector<std::string> positional;
  return flags.Parse(args, &positional);
}

TEST(OptionSchemaTest, FlagsNotGivenLeaveFieldsUnset) {
  proto::TrainOptions train;
  ASSERT_TRUE(ParseTrain({"--batch", "8"}, &train).ok());
  EXPECT_TRUE(train.has_batch());
  EXPECT_EQ(train.batch(), 8);
  EXPECT_FALSE(train.has_seed());
  EXPECT_FALSE(train.has_precision());
  EXPECT_FALSE(train.has_learn_mask());
}

TEST(OptionSchemaTest, ZeroFalseAndEmptyCanBeAskedFor) {
  proto::TrainOptions train;
  ASSERT_TRUE(ParseTrain({"--seed", "0", "--no-learn-mask", "--gan-weight=0"}, &train).ok());
  EXPECT_TRUE(train.has_seed());
  EXPECT_EQ(train.seed(), 0u);
  EXPECT_TRUE(train.has_learn_mask());
  EXPECT_FALSE(train.learn_mask());
  EXPECT_TRUE(train.has_gan_weight());
}

TEST(OptionSchemaTest, ShortNamesAndBoolFlags) {
  proto::TrainOptions train;
  ASSERT_TRUE(ParseTrain({"-b", "4", "-i", "100", "--learn-mask"}, &train).ok());
  EXPECT_EQ(train.batch(), 4);
  EXPECT_EQ(train.iterations(), 100);
  EXPECT_TRUE(train.learn_mask());
}

TEST(OptionSchemaTest, ValuesOutsideTheSchemaAreUsageErrors) {
  proto::TrainOptions train;
  absl::Status status = ParseTrain({"--batch", "0"}, &train);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("--batch: 0 is outside 1..4096"), std::string::npos) << status;

  status = ParseTrain({"--precision", "fp64"}, &train);
  EXPECT_NE(status.message().find("--precision: 'fp64' is not one of: auto, fp32, bf16, fp16"),
            std::string::npos)
      << status;

  status = ParseTrain({"--lr", "fast"}, &train);
  EXPECT_NE(status.message().find("--lr expects a number, got 'fast'"), std::string::npos)
      << status;

  status = ParseTrain({"--lr", "nan"}, &train);
  EXPECT_NE(status.message().find("--lr expects a number, got 'nan'"), std::string::npos) << status;

  status = ParseTrain({"--seed", "-1"}, &train);
  EXPECT_NE(status.message().find("--seed expects an integer, got '-1'"), std::string::npos)
      << status;
}

TEST(OptionSchemaTest, LocalScopeLeavesOutClusterOnlyOptions) {
  proto::TrainOptions train;
  EXPECT_TRUE(ParseTrain({"--ranks", "2"}, &train, OptionScope::kAll).ok());
  absl::Status status = ParseTrain({"--ranks", "2"}, &train, OptionScope::kLocal);
  EXPECT_NE(status.message().find("unknown flag --ranks"), std::string::npos) << status;
}

TEST(OptionSchemaTest, HelpShowsTheSchemaHelpAndRange) {
  proto::TrainOptions train;
  util::FlagSet flags("fsc test", "", "");
  AddOptionFlags(OptionScope::kAll, "", &flags, &train);
  const std::string help = flags.Help();
  EXPECT_NE(help.find("--precision VALUE"), std::string::npos) << help;
  EXPECT_NE(help.find("(auto|fp32|bf16|fp16)"), std::string::npos) << help;
  EXPECT_NE(help.find("-b, --batch VALUE"), std::string::npos) << help;
  EXPECT_NE(help.find("(1..4096)"), std::string::npos) << help;
  EXPECT_NE(help.find("--epsilon VALUE"), std::string::npos) << help;
  EXPECT_NE(help.find("--max-ranks VALUE"), std::string::npos) << help;
}

TEST(OptionSchemaTest, ValidateChecksOnlyPresentFields) {
  proto::TrainOptions train;
  EXPECT_TRUE(ValidateOptions(train, "spec.train").ok());  // all unset: every default
  train.set_precision("auto");
  train.set_seed(0);
  EXPECT_TRUE(ValidateOptions(train, "spec.train").ok());
  train.set_batch(0);
  absl::Status status = ValidateOptions(train, "spec.train");
  EXPECT_NE(status.message().find("spec.train.batch: 0 is outside 1..4096"), std::string::npos)
      << status;
  train.clear_batch();
  train.set_backend("mpi");
  status = ValidateOptions(train, "spec.train");
  EXPECT_NE(status.message().find("spec.train.backend: 'mpi' is not one of: auto, gloo, nccl"),
            std::string::npos)
      << status;
}

TEST(OptionSchemaTest, FlagValidationNamesTheFlagAsParsingDoes) {
  proto::ExtractOptions extract;
  EXPECT_TRUE(ValidateOptionFlags(extract).ok());
  extract.set_re_feed(33);
  EXPECT_EQ(ValidateOptionFlags(extract).message(), "--re-feed: 33 is outside 0..32");
  // The message a bad --re-feed on the command line gives.
  proto::ExtractOptions parsed;
  EXPECT_EQ(SetOptionFromText(
                "33", *proto::ExtractOptions::descriptor()->FindFieldByName("re_feed"), &parsed)
                .message(),
            "--re-feed: 33 is outside 0..32");
  extract.clear_re_feed();
  extract.set_detector("nope");
  EXPECT_EQ(ValidateOptionFlags(extract).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateOptionFlags(extract).message(),
            "--detector: 'nope' is not one of: ssd, tiny, blazeface");
}

TEST(OptionSchemaTest, EveryJobOptionIsAnnotated) {
  for (const google::protobuf::Descriptor* type :
       {proto::TrainOptions::descriptor(), proto::ExtractOptions::descriptor(),
        proto::ConvertOptions::descriptor()}) {
    for (int i = 0; i < type->field_count(); ++i) {
      const google::protobuf::FieldDescriptor& field = *type->field(i);
      EXPECT_NE(FindOptionSpec(field), nullptr) << field.full_name();
      EXPECT_TRUE(field.has_presence()) << field.full_name();
      EXPECT_FALSE(FindOptionSpec(field)->help().empty()) << field.full_name();
    }
  }
}

TEST(OptionSchemaTest, FloatFieldsParseAndCheck) {
  proto::ExtractOptions extract;
  util::FlagSet flags("fsc test", "", "");
  AddOptionFlags(OptionScope::kAll, "", &flags, &extract);
  std::vector<std::string> positional;
  ASSERT_TRUE(flags.Parse({"--min-score", "0.25", "--strength", "0"}, &positional).ok());
  EXPECT_FLOAT_EQ(extract.min_score(), 0.25f);
  EXPECT_TRUE(extract.has_strength());
  absl::Status status = flags.Parse({"--min-score", "1.5"}, &positional);
  EXPECT_NE(status.message().find("--min-score: 1.5 is outside 0..1"), std::string::npos) << status;
  status = flags.Parse({"--min-score", "inf"}, &positional);
  EXPECT_NE(status.message().find("--min-score expects a number, got 'inf'"), std::string::npos)
      << status;
}

TEST(OptionSchemaTest, OldStoredSpecsParseWithTheirValuesPresent) {
  // A job stored before the fields had presence: proto3 wrote only the values that were not 0 or
  // empty, and they read back as present; the others as unset (the default), as they meant.
  proto::JobSpec old;
  old.mutable_extract()->set_size(128);
  old.mutable_convert()->set_color("rct");
  proto::JobSpec parsed;
  ASSERT_TRUE(parsed.ParseFromString(old.SerializeAsString()));
  EXPECT_TRUE(parsed.extract().has_size());
  EXPECT_FALSE(parsed.extract().has_every_n());
  EXPECT_EQ(parsed.convert().color(), "rct");
  EXPECT_FALSE(parsed.convert().has_crf());
  EXPECT_TRUE(ValidateOptions(parsed.extract(), "spec.extract").ok());
  EXPECT_TRUE(ValidateOptions(parsed.convert(), "spec.convert").ok());
}

TEST(OptionSchemaTest, LeftOutFieldsGetNoFlag) {
  proto::ConvertOptions convert;
  util::FlagSet flags("fsc test", "", "");
  AddOptionFlags(OptionScope::kAll, "", &flags, &convert, {"batch", "precision"});
  std::vector<std::string> positional;
  EXPECT_TRUE(flags.Parse({"--crf", "0"}, &positional).ok());
  EXPECT_TRUE(convert.has_crf());
  absl::Status status = flags.Parse({"--batch", "8"}, &positional);
  EXPECT_NE(status.message().find("unknown flag --batch"), std::string::npos) << status;
}

TEST(OptionSchemaTest, ValuesConvertToTheFieldsType) {
  proto::ExtractOptions extract;
  const google::protobuf::Descriptor& type = *proto::ExtractOptions::descriptor();
  SetOptionValue(OptionValue(12.6), *type.FindFieldByName("min_size"), &extract);
  EXPECT_EQ(extract.min_size(), 13);
  SetOptionValue(OptionValue(int64_t{3}), *type.FindFieldByName("strength"), &extract);
  EXPECT_DOUBLE_EQ(extract.strength(), 3.0);
  SetOptionValue(OptionValue(0.55), *type.FindFieldByName("min_score"), &extract);
  EXPECT_EQ(OptionValueText(GetOptionValue(extract, *type.FindFieldByName("min_score"))), "0.55");
  EXPECT_EQ(OptionValueText(OptionValue(std::string("ssd"))), "ssd");
  EXPECT_EQ(OptionValueText(OptionValue(false)), "false");
  EXPECT_EQ(OptionValueText(OptionValue(int64_t{256})), "256");
}

}  // namespace
}  // namespace fsc::rpc
