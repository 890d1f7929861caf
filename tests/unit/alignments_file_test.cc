// Alignments file round trip, refusal of foreign/corrupt/newer files, and the JSON dump's schema.
#include "core/face/alignments_file.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/util/file_io.h"
#include "tests/test_paths.h"

namespace fsc::face {
namespace {

proto::Alignments Sample() {
  proto::Alignments alignments;
  alignments.mutable_source()->set_path("clip.mp4");
  alignments.mutable_source()->set_width(640);
  alignments.mutable_source()->set_frame_count(10);
  alignments.set_detector("ssd");
  proto::Frame* frame = alignments.add_frames();
  frame->set_index(7);
  proto::Face* face = frame->add_faces();
  face->mutable_box()->set_x(10);
  face->mutable_box()->set_y(20);
  face->mutable_box()->set_width(30);
  face->mutable_box()->set_height(40);
  face->set_score(0.9f);
  for (int i = 0; i < 68; ++i) {
    proto::Point* p = face->add_landmarks();
    p->set_x(i);
    p->set_y(2 * i);
  }
  return alignments;
}

TEST(AlignmentsFileTest, RoundTrip) {
  std::string path = testing::MakeTempDir("fsc-align") + "/a.fsa";
  ASSERT_TRUE(WriteAlignments(path, Sample()).ok());
  auto read = ReadAlignments(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->version(), kAlignmentsVersion);
  ASSERT_EQ(read->frames_size(), 1);
  EXPECT_EQ(read->frames(0).index(), 7);
  EXPECT_EQ(read->frames(0).faces(0).landmarks(67).y(), 134);
}

TEST(AlignmentsFileTest, RefusesForeignTruncatedAndNewer) {
  std::string dir = testing::MakeTempDir("fsc-align");
  ASSERT_TRUE(util::WriteFileAtomically(dir + "/foreign.fsa", "{\"json\": true}").ok());
  auto foreign = ReadAlignments(dir + "/foreign.fsa");
  EXPECT_EQ(foreign.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(foreign.status().message().find("foreign.fsa"), std::string::npos);

  ASSERT_TRUE(WriteAlignments(dir + "/good.fsa", Sample()).ok());
  std::string bytes = *util::ReadFile(dir + "/good.fsa");
  ASSERT_TRUE(util::WriteFileAtomically(dir + "/cut.fsa", bytes.substr(0, bytes.size() - 9)).ok());
  EXPECT_EQ(ReadAlignments(dir + "/cut.fsa").status().code(), absl::StatusCode::kDataLoss);

  proto::Alignments newer = Sample();
  newer.set_version(kAlignmentsVersion + 1);
  ASSERT_TRUE(
      util::WriteFileAtomically(dir + "/newer.fsa", "FSCALN1\n" + newer.SerializeAsString()).ok());
  EXPECT_EQ(ReadAlignments(dir + "/newer.fsa").status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReadAlignments(dir + "/none.fsa").status().code(), absl::StatusCode::kNotFound);
}

TEST(AlignmentsFileTest, JsonDumpHasTheDocumentedSchema) {
  nlohmann::json json = nlohmann::json::parse(AlignmentsToJson(Sample(), false));
  EXPECT_EQ(json["source"], "clip.mp4");
  const auto& face = json["frames"][0]["faces"][0];
  EXPECT_EQ(json["frames"][0]["frame"], 7);
  EXPECT_EQ(face["box"], nlohmann::json({10.0, 20.0, 30.0, 40.0}));
  EXPECT_NEAR(face["score"].get<double>(), 0.9, 1e-6);
  ASSERT_EQ(face["landmarks"].size(), 68u);
  EXPECT_EQ(face["landmarks"][3], nlohmann::json({3.0, 6.0}));
}

}  // namespace
}  // namespace fsc::face
