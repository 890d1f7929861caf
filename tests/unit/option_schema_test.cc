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

TEST(OptionSchemaTest, EveryTrainOptionIsAnnotated) {
  const google::protobuf::Descriptor& type = *proto::TrainOptions::descriptor();
  for (int i = 0; i < type.field_count(); ++i) {
    const google::protobuf::FieldDescriptor& field = *type.field(i);
    EXPECT_NE(FindOptionSpec(field), nullptr) << field.name();
    EXPECT_TRUE(field.has_presence()) << field.name();
  }
}

}  // namespace
}  // namespace fsc::rpc
