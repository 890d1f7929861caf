// Alignments file round trip (the steady-faces fields of version 3 included), refusal of
// foreign/corrupt/newer files (checksum, impossible landmarks and histograms), version 1 and 2
// files still read, and the JSON dump's schema.
#include "core/face/alignments_file.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/util/file_io.h"
#include "core/util/sha256.h"
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

// Sample() as stabilisation leaves it: a track, smoothed landmarks over the raw ones, a filled
// face in the next frame, histograms on every frame (one without faces) and a shot cut.
proto::Alignments Stabilized() {
  proto::Alignments alignments = Sample();
  proto::Face* face = alignments.mutable_frames(0)->mutable_faces(0);
  face->set_track_id(1);
  *face->mutable_raw_landmarks() = face->landmarks();
  face->mutable_landmarks(5)->set_x(5.5f);
  proto::Frame* next = alignments.add_frames();
  next->set_index(8);
  *next->add_faces() = *face;
  next->mutable_faces(0)->clear_raw_landmarks();
  next->mutable_faces(0)->set_filled(true);
  proto::Frame* empty = alignments.add_frames();
  empty->set_index(9);
  empty->set_shot_cut(true);
  for (proto::Frame* frame : {alignments.mutable_frames(0), next, empty}) {
    for (int i = 0; i < 64; ++i) frame->add_histogram(i == frame->index() ? 1.0f : 0.0f);
  }
  proto::Smoothing* smoothing = alignments.mutable_smoothing();
  smoothing->set_strength(1.5);
  smoothing->set_max_gap(5);
  smoothing->set_tracks(1);
  smoothing->set_shot_cuts(1);
  smoothing->set_faces_filled(1);
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

TEST(AlignmentsFileTest, VersionThreeRoundTripsTracksAndHistograms) {
  const std::string bytes = SerializeAlignments(Stabilized());
  ASSERT_EQ(bytes.substr(0, 8), "FSCALN3\n");
  auto read = ParseAlignments(bytes, "steady.fsa");
  ASSERT_TRUE(read.ok()) << read.status();
  proto::Alignments expected = Stabilized();
  expected.set_version(kAlignmentsVersion);
  EXPECT_EQ(read->SerializeAsString(), expected.SerializeAsString());
  ASSERT_EQ(read->frames_size(), 3);
  EXPECT_EQ(read->frames(0).faces(0).track_id(), 1);
  EXPECT_EQ(read->frames(0).faces(0).raw_landmarks_size(), 68);
  EXPECT_TRUE(read->frames(1).faces(0).filled());
  EXPECT_TRUE(read->frames(2).shot_cut());
  EXPECT_EQ(read->frames(2).histogram_size(), 64);
  EXPECT_EQ(read->smoothing().faces_filled(), 1);
}

TEST(AlignmentsFileTest, RefusesImpossibleTracksAndHistograms) {
  auto code = [](const proto::Alignments& alignments) {
    return ParseAlignments(SerializeAlignments(alignments), "s.fsa").status().code();
  };
  proto::Alignments raw = Stabilized();
  raw.mutable_frames(0)->mutable_faces(0)->mutable_raw_landmarks()->RemoveLast();
  EXPECT_EQ(code(raw), absl::StatusCode::kDataLoss);
  raw = Stabilized();
  raw.mutable_frames(0)->mutable_faces(0)->mutable_raw_landmarks(3)->set_y(std::nanf(""));
  EXPECT_EQ(code(raw), absl::StatusCode::kDataLoss);
  proto::Alignments track = Stabilized();
  track.mutable_frames(1)->mutable_faces(0)->set_track_id(-2);
  EXPECT_EQ(code(track), absl::StatusCode::kDataLoss);
  for (float bad : {-0.5f, std::nanf(""), INFINITY}) {
    proto::Alignments histogram = Stabilized();
    histogram.mutable_frames(2)->set_histogram(7, bad);
    auto read = ParseAlignments(SerializeAlignments(histogram), "h.fsa");
    ASSERT_EQ(read.status().code(), absl::StatusCode::kDataLoss) << bad;
    EXPECT_NE(read.status().message().find("frame 9"), std::string::npos) << read.status();
  }
  proto::Alignments bins = Stabilized();
  bins.mutable_frames(1)->add_histogram(0);  // 65 bins beside 64
  EXPECT_EQ(code(bins), absl::StatusCode::kDataLoss);
  proto::Alignments huge = Stabilized();
  for (proto::Frame& frame : *huge.mutable_frames()) frame.mutable_histogram()->Resize(5000, 0);
  EXPECT_EQ(code(huge), absl::StatusCode::kDataLoss);
  proto::Alignments none = Stabilized();
  none.mutable_frames(1)->clear_histogram();  // a frame without one is fine
  EXPECT_EQ(code(none), absl::StatusCode::kOk);
  proto::Alignments smoothing = Stabilized();
  smoothing.mutable_smoothing()->set_strength(-1);
  EXPECT_EQ(code(smoothing), absl::StatusCode::kDataLoss);
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
  ASSERT_TRUE(util::WriteFileAtomically(dir + "/format4.fsa", "FSCALN4\nwhatever").ok());
  EXPECT_EQ(ReadAlignments(dir + "/format4.fsa").status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReadAlignments(dir + "/none.fsa").status().code(), absl::StatusCode::kNotFound);
}

TEST(AlignmentsFileTest, WritesAChecksumThatCatchesFlippedBytes) {
  const std::string bytes = SerializeAlignments(Sample());
  ASSERT_EQ(bytes.substr(0, 8), "FSCALN3\n");
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
  // Written again, it is a current file with a checksum.
  auto upgraded = ParseAlignments(SerializeAlignments(*read), "new.fsa");
  ASSERT_TRUE(upgraded.ok());
  EXPECT_EQ(upgraded->version(), kAlignmentsVersion);
  // A version 2 message behind a version 1 header is corrupt, not old.
  proto::Alignments mixed = Sample();
  mixed.set_version(2);
  EXPECT_EQ(ParseAlignments("FSCALN1\n" + mixed.SerializeAsString(), "x").status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(AlignmentsFileTest, VersionTwoFilesStillRead) {
  // What fsc wrote before steady faces: a checksummed version 2 file, no tracks.
  proto::Alignments old = Sample();
  old.set_version(2);
  std::string payload;
  old.SerializeToString(&payload);
  const std::string bytes = "FSCALN2\n" + util::Sha256Hex(payload) + "\n" + payload;
  auto read = ParseAlignments(bytes, "v2.fsa");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->version(), 2u);
  EXPECT_EQ(read->frames(0).faces(0).track_id(), 0);
  EXPECT_FALSE(read->has_smoothing());
  nlohmann::json json = nlohmann::json::parse(AlignmentsToJson(*read, false));
  EXPECT_EQ(json["frames"][0]["faces"][0]["track"], 0);
  EXPECT_FALSE(json.contains("smoothing"));
  // Its checksum is checked like a current file's.
  std::string flipped = bytes;
  flipped[flipped.size() - 20] ^= 0x10;
  EXPECT_EQ(ParseAlignments(flipped, "v2.fsa").status().code(), absl::StatusCode::kDataLoss);
  // Upgraded on the next write; a version 3 message behind a version 2 header is corrupt.
  auto upgraded = ParseAlignments(SerializeAlignments(*read), "v3.fsa");
  ASSERT_TRUE(upgraded.ok()) << upgraded.status();
  EXPECT_EQ(upgraded->version(), 3u);
  old.set_version(3);
  old.SerializeToString(&payload);
  EXPECT_EQ(
      ParseAlignments("FSCALN2\n" + util::Sha256Hex(payload) + "\n" + payload, "x").status().code(),
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
  EXPECT_EQ(face["track"], 0);
  EXPECT_FALSE(face.contains("filled"));
  EXPECT_FALSE(face.contains("raw_landmarks"));
  EXPECT_FALSE(json.contains("smoothing"));
}

TEST(AlignmentsFileTest, JsonDumpShowsTracksAndSmoothing) {
  nlohmann::json json = nlohmann::json::parse(AlignmentsToJson(Stabilized(), false));
  // The frame kept only for its histogram is not listed; its shot cut is.
  ASSERT_EQ(json["frames"].size(), 2u);
  EXPECT_EQ(json["shot_cuts"], nlohmann::json({9}));
  const auto& smoothed = json["frames"][0]["faces"][0];
  EXPECT_EQ(smoothed["track"], 1);
  EXPECT_FALSE(smoothed.contains("filled"));
  ASSERT_EQ(smoothed["raw_landmarks"].size(), 68u);
  EXPECT_EQ(smoothed["raw_landmarks"][5], nlohmann::json({5.0, 10.0}));
  EXPECT_EQ(smoothed["landmarks"][5], nlohmann::json({5.5, 10.0}));
  const auto& filled = json["frames"][1]["faces"][0];
  EXPECT_EQ(filled["track"], 1);
  EXPECT_EQ(filled["filled"], true);
  EXPECT_EQ(json["smoothing"]["strength"], 1.5);
  EXPECT_EQ(json["smoothing"]["max_gap"], 5);
  EXPECT_EQ(json["smoothing"]["tracks"], 1);
  EXPECT_EQ(json["smoothing"]["shot_cuts"], 1);
  EXPECT_EQ(json["smoothing"]["faces_filled"], 1);
}

}  // namespace
}  // namespace fsc::face
