// The train job's spec and the trainer's options: one binding for fsc train's flags, fsc submit
// train's fields and the worker that applies a job.
#include "core/train/train_spec.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "core/model/model_registry.h"
#include "core/rpc/option_schema.h"

namespace fsc::train {
namespace {

TEST(TrainSpecTest, EveryTrainerFieldIsBound) {
  // TrainSpecOf sets every bound field; every annotated field that is not cluster-only must be.
  const proto::TrainOptions spec = TrainSpecOf(TrainOptions());
  const google::protobuf::Descriptor& type = *proto::TrainOptions::descriptor();
  for (int i = 0; i < type.field_count(); ++i) {
    const google::protobuf::FieldDescriptor& field = *type.field(i);
    const bool cluster_only = rpc::FindOptionSpec(field)->cluster_only();
    EXPECT_EQ(spec.GetReflection()->HasField(spec, &field), !cluster_only) << field.name();
  }
}

TEST(TrainSpecTest, ApplyingSetsOnlyPresentFields) {
  TrainOptions options;
  options.model = "lightweight";  // e.g. a resumed model's own setting
  options.seed = 7;
  options.learn_mask = true;
  proto::TrainOptions spec;
  spec.set_seed(0);
  spec.set_learn_mask(false);
  spec.set_epsilon(1e-5);
  ApplyTrainSpec(spec, &options);
  EXPECT_EQ(options.model, "lightweight");
  EXPECT_EQ(options.seed, 0);
  EXPECT_FALSE(options.learn_mask);
  EXPECT_DOUBLE_EQ(options.epsilon, 1e-5);
  EXPECT_EQ(options.batch_size, TrainOptions().batch_size);
}

TEST(TrainSpecTest, SpecOfOptionsAppliesBackToTheSameOptions) {
  TrainOptions options;
  options.model = "dfl-h128";
  options.batch_size = 6;
  options.iterations = 1234567890123;
  options.learning_rate = 3e-4;
  options.precision = "bf16";
  options.gan_weight = 0.1;
  TrainOptions applied;
  ApplyTrainSpec(TrainSpecOf(options), &applied);
  EXPECT_EQ(applied.model, "dfl-h128");
  EXPECT_EQ(applied.batch_size, 6);
  EXPECT_EQ(applied.iterations, 1234567890123);
  EXPECT_DOUBLE_EQ(applied.learning_rate, 3e-4);
  EXPECT_EQ(applied.precision, "bf16");
  EXPECT_DOUBLE_EQ(applied.gan_weight, 0.1);
}

TEST(TrainSpecTest, DefaultsAreAcceptedByTheSchema) {
  // What the trainer does by default is something a job may ask for explicitly.
  EXPECT_TRUE(rpc::ValidateOptions(TrainSpecOf(TrainOptions()), "spec.train").ok());
}

TEST(TrainSpecTest, SchemaModelsAreTheRegistrysModels) {
  const proto::OptionSpec& spec =
      *rpc::FindOptionSpec(*proto::TrainOptions::descriptor()->FindFieldByName("model"));
  const std::set<std::string> schema(spec.one_of().begin(), spec.one_of().end());
  const std::vector<std::string> names = model::ModelNames();
  EXPECT_EQ(schema, std::set<std::string>(names.begin(), names.end()));
}

TEST(TrainSpecTest, FlagsSetMembersAndShowTheirCurrentValues) {
  TrainOptions options;
  options.precision = "fp32";  // e.g. from a checkpoint: --help shows it as the default
  util::FlagSet flags("fsc train", "", "");
  AddTrainSpecFlags(&flags, &options);
  EXPECT_NE(flags.Help().find("(auto|fp32|bf16|fp16; default: fp32)"), std::string::npos)
      << flags.Help();
  EXPECT_EQ(flags.Help().find("--ranks"), std::string::npos) << "cluster-only";
  std::vector<std::string> positional;
  ASSERT_TRUE(
      flags.Parse({"--seed", "0", "-b", "3", "--iterations", "5000000000"}, &positional).ok());
  EXPECT_EQ(options.seed, 0);
  EXPECT_EQ(options.batch_size, 3);
  EXPECT_EQ(options.iterations, 5000000000);
  EXPECT_FALSE(flags.Parse({"--batch", "-1"}, &positional).ok());
  EXPECT_EQ(options.batch_size, 3);
}

}  // namespace
}  // namespace fsc::train
