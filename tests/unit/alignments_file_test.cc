// Alignments file round trip, refusal of foreign/corrupt/newer files (checksum, impossible
// landmarks), version 1 files still read, and the JSON dump's schema.
#include "core/face/alignments_file.h"

#include <gtest/gtest.h>

#include <cmath>
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
  ASSERT_TRUE(util::WriteFileAtomically(dir + "/format3.fsa", "FSCALN3\nwhatever").ok());
  EXPECT_EQ(ReadAlignments(dir + "/format3.fsa").status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReadAlignments(dir + "/none.fsa").status().code(), absl::StatusCode::kNotFound);
}

TEST(AlignmentsFileTest, WritesAChecksumThatCatchesFlippedBytes) {
  const std::string bytes = SerializeAlignments(Sample());
  ASSERT_EQ(bytes.substr(0, 8), "FSCALN2\n");
  ASSERT_EQ(bytes[8 + 64], '\n');
  ASSERT_TRUE(ParseAlignments(bytes, "a.fsa").ok());
  // Flip one bit in the middle of the payload: protobuf alone would often still parse it.
  std::string flipped = bytes;
  flipped[flipped.size() / 2 + 40] ^= 0x04;
  auto damaged = ParseAlignments(flipped, "a.fsa");
  EXPECT_EQ(damaged.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(damaged.status().message().find("checksum"), std::string::npos) << damaged.status();
  EXPECT_NE(damaged.status().message().find("a.fsa"), std::string::npos);
  // A damaged checksum is damage too.
  std::string header = bytes;
  header[10] = header[10] == 'a' ? 'b' : 'a';
  EXPECT_EQ(ParseAlignments(header, "a.fsa").status().code(), absl::StatusCode::kDataLoss);
}

TEST(AlignmentsFileTest, VersionOneFilesStillRead) {
  // What fsc wrote before tracks and checksums: "FSCALN1\n" then the message at version 1.
  proto::Alignments old = Sample();
  old.set_version(1);
  auto read = ParseAlignments("FSCALN1\n" + old.SerializeAsString(), "old.fsa");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->version(), 1u);
  // Written again, it is a version 2 file with a checksum.
  auto upgraded = ParseAlignments(SerializeAlignments(*read), "new.fsa");
  ASSERT_TRUE(upgraded.ok());
  EXPECT_EQ(upgraded->version(), kAlignmentsVersion);
  // A version 2 message behind a version 1 header is corrupt, not old.
  proto::Alignments mixed = Sample();
  mixed.set_version(2);
  EXPECT_EQ(ParseAlignments("FSCALN1\n" + mixed.SerializeAsString(), "x").status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(AlignmentsFileTest, RefusesImpossibleLandmarks) {
  for (float bad : {std::nanf(""), INFINITY, 1e30f, -3e7f}) {
    proto::Alignments alignments = Sample();
    alignments.mutable_frames(0)->mutable_faces(0)->mutable_landmarks(30)->set_x(bad);
    auto read = ParseAlignments(SerializeAlignments(alignments), "bad.fsa");
    ASSERT_EQ(read.status().code(), absl::StatusCode::kDataLoss) << bad;
    const std::string message(read.status().message());
    EXPECT_NE(message.find("frame 7"), std::string::npos) << message;
    EXPECT_NE(message.find("point 30"), std::string::npos) << message;
  }
  proto::Alignments transform = Sample();
  for (double v : {1.0, 0.0, 5.0, 0.0, 1.0, std::nan("")}) {
    transform.mutable_frames(0)->mutable_faces(0)->mutable_transform()->add_m(v);
  }
  EXPECT_EQ(ParseAlignments(SerializeAlignments(transform), "t.fsa").status().code(),
            absl::StatusCode::kDataLoss);
  proto::Alignments count = Sample();
  count.mutable_frames(0)->mutable_faces(0)->mutable_landmarks()->RemoveLast();
  EXPECT_EQ(ParseAlignments(SerializeAlignments(count), "c.fsa").status().code(),
            absl::StatusCode::kDataLoss);
  // A face partly outside the frame is fine.
  proto::Alignments edge = Sample();
  edge.mutable_frames(0)->mutable_faces(0)->mutable_landmarks(0)->set_x(-150);
  EXPECT_TRUE(ParseAlignments(SerializeAlignments(edge), "e.fsa").ok());
}

TEST(AlignmentsFileTest, AnyBytesGiveAnAnswer) {
  // Every prefix and a spread of single-byte changes of a real file: a status, never a crash.
  const std::string bytes = SerializeAlignments(Sample());
  for (size_t n = 0; n <= bytes.size(); n += 7) {
    (void)ParseAlignments(bytes.substr(0, n), "prefix");
    std::string changed = bytes;
    if (n < changed.size()) changed[n] = static_cast<char>(changed[n] * 31 + 7);
    (void)ParseAlignments(changed, "changed");
  }
  EXPECT_EQ(ParseAlignments("", "empty").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(AlignmentsFileTest, FolderMeansTheFileInIt) {
  const std::string dir = testing::MakeTempDir("fsc-align");
  EXPECT_EQ(ResolveAlignmentsPath(dir), dir + "/alignments.fsa");
  // A job folder fetched from an older cluster.
  ASSERT_TRUE(util::WriteFileAtomically(dir + "/alignments.fsca", "x").ok());
  EXPECT_EQ(ResolveAlignmentsPath(dir), dir + "/alignments.fsca");
  ASSERT_TRUE(util::WriteFileAtomically(dir + "/alignments.fsa", "x").ok());
  EXPECT_EQ(ResolveAlignmentsPath(dir), dir + "/alignments.fsa");
  EXPECT_EQ(ResolveAlignmentsPath(dir + "/other.fsa"), dir + "/other.fsa");
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
