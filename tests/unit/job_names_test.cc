// The enum words users read and type, derived from fsc.proto's value names.
#include "core/rpc/job_names.h"

#include <gtest/gtest.h>

namespace fsc::rpc {
namespace {

TEST(JobNamesTest, WordsComeFromTheValueNames) {
  EXPECT_EQ(JobStateName(proto::JOB_QUEUED), "queued");
  EXPECT_EQ(JobStateName(proto::JOB_CANCELLED), "cancelled");
  EXPECT_EQ(JobKindName(proto::JOB_SWAP), "swap");
  EXPECT_EQ(TaskKindName(proto::TASK_MERGE_ALIGNMENTS), "merge-alignments");
  EXPECT_EQ(TaskKindName(proto::TASK_MERGE_VIDEO), "merge-video");
  EXPECT_EQ(TaskStateName(proto::TASK_LEASED), "leased");
  EXPECT_EQ(WorkerRoleName(proto::ROLE_TRAIN), "train");
  // The unspecified value and numbers the enum lacks (a newer peer's) read as "unknown".
  EXPECT_EQ(JobStateName(proto::JOB_STATE_UNSPECIFIED), "unknown");
  EXPECT_EQ(TaskKindName(static_cast<proto::TaskKind>(99)), "unknown");
}

TEST(JobNamesTest, ParsingIsTheInverseInAnyCase) {
  const google::protobuf::EnumDescriptor& roles = *proto::WorkerRole_descriptor();
  EXPECT_EQ(EnumWords(roles), (std::vector<std::string>{"extract", "convert", "train"}));
  for (const std::string& word : EnumWords(*proto::TaskKind_descriptor())) {
    std::optional<int> value = ParseEnumWord(*proto::TaskKind_descriptor(), word);
    ASSERT_TRUE(value.has_value()) << word;
    EXPECT_EQ(TaskKindName(static_cast<proto::TaskKind>(*value)), word);
  }
  EXPECT_EQ(ParseEnumWord(roles, "Convert"), proto::ROLE_CONVERT);
  EXPECT_FALSE(ParseEnumWord(roles, "unknown").has_value());
  EXPECT_FALSE(ParseEnumWord(roles, "role_train").has_value());
  EXPECT_FALSE(ParseEnumWord(roles, "").has_value());
}

}  // namespace
}  // namespace fsc::rpc
