// Runs the real `fsc extract` and `fsc alignments dump` binaries on the sample images and video,
// and on damaged inputs, the way a user would.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <set>

#include "absl/strings/str_cat.h"
#include "core/face/alignment.h"
#include "core/face/alignments_file.h"
#include "core/face/face_metadata.h"
#include "core/face/face_png.h"
#include "core/media/frame_source.h"
#include "core/util/file_io.h"
#include "tests/png_pixels.h"
#include "tests/test_paths.h"

namespace fsc {
namespace {

namespace fs = std::filesystem;

using testing::CommandResult;

CommandResult RunFsc(const std::string& arguments) {
  return testing::RunCommand(testing::BinDir() + "/fsc " + arguments + " 2>&1");
}

TEST(ExtractCliTest, HelpForEveryVerb) {
  for (const char* verb :
       {"", "extract ", "alignments ", "alignments dump ", "alignments smooth "}) {
    CommandResult run = RunFsc(std::string(verb) + "--help");
    EXPECT_EQ(run.exit_code, 0) << verb;
    EXPECT_NE(run.output.find("usage: fsc"), std::string::npos) << run.output;
  }
}

TEST(ExtractCliTest, ExtractsTheAstronautWithEmbeddedMetadataAndJsonDump) {
  std::string out = testing::MakeTempDir("fsc-extract");
  CommandResult run =
      RunFsc("extract " + testing::DataDir() + "/astronaut.png -o " + out + " --json");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto alignments = face::ReadAlignments(out + "/alignments.fsa");
  ASSERT_TRUE(alignments.ok()) << alignments.status();
  ASSERT_EQ(alignments->frames_size(), 1);
  ASSERT_EQ(alignments->frames(0).faces_size(), 1);
  const proto::Face& face = alignments->frames(0).faces(0);
  EXPECT_EQ(face.landmarks_size(), 68);
  EXPECT_EQ(face.masks_size(), 3);
  EXPECT_EQ(face.transform().m_size(), 6);
  // A still image is not tracked or smoothed and has no frame histogram.
  EXPECT_EQ(face.track_id(), 0);
  EXPECT_FALSE(alignments->has_smoothing());
  EXPECT_EQ(alignments->frames(0).histogram_size(), 0);

  // The face PNG alone says where it came from.
  std::string png = *util::ReadFile(out + "/" + face.face_file());
  cv::Mat crop = cv::imread(out + "/" + face.face_file());
  EXPECT_EQ(crop.cols, 256);
  EXPECT_EQ(crop.rows, 256);
  auto metadata_bytes = face::ReadPngMetadata(png);
  ASSERT_TRUE(metadata_bytes.ok()) << metadata_bytes.status();
  proto::FaceMetadata metadata;
  ASSERT_TRUE(metadata.ParseFromString(*metadata_bytes));
  EXPECT_EQ(metadata.frame(), 0);
  EXPECT_EQ(metadata.source_sha256(), alignments->source().sha256());
  EXPECT_EQ(metadata.aligned_landmarks_size(), 68);

  CommandResult dump = RunFsc("alignments dump " + out + "/alignments.fsa --json");
  ASSERT_EQ(dump.exit_code, 0) << dump.output;
  nlohmann::json json = nlohmann::json::parse(dump.output);
  const auto& dumped = json["frames"][0]["faces"][0];
  ASSERT_EQ(dumped["box"].size(), 4u);
  ASSERT_EQ(dumped["landmarks"].size(), 68u);
  EXPECT_NEAR(dumped["landmarks"][30][0].get<double>(), face.landmarks(30).x(), 1e-3);
}

TEST(ExtractCliTest, VideoEveryNthFrameAndTwoThreadsAgree) {
  std::string one = testing::MakeTempDir("fsc-extract");
  std::string two = testing::MakeTempDir("fsc-extract");
  std::string video = testing::DataDir() + "/Megamind.avi";
  CommandResult a = RunFsc("extract " + video + " -o " + one + " --every-n 30 --threads 1");
  CommandResult b =
      RunFsc("extract " + video + " -o " + two + " --every-n 30 --threads 2 --no-faces");
  ASSERT_EQ(a.exit_code, 0) << a.output;
  ASSERT_EQ(b.exit_code, 0) << b.output;
  auto first = face::ReadAlignments(one + "/alignments.fsa");
  auto second = face::ReadAlignments(two + "/alignments.fsa");
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->source().frame_count(), 270);
  ASSERT_GE(first->frames_size(), 8);  // 9 frames processed, the face is visible in nearly all
  ASSERT_EQ(first->frames_size(), second->frames_size());
  for (int i = 0; i < first->frames_size(); ++i) {
    EXPECT_EQ(first->frames(i).index() % 30, 0);
    EXPECT_EQ(first->frames(i).index(), second->frames(i).index());
    ASSERT_EQ(first->frames(i).faces_size(), second->frames(i).faces_size());
    if (first->frames(i).faces_size() == 0) continue;  // kept for its histogram
    EXPECT_NEAR(first->frames(i).faces(0).landmarks(30).x(),
                second->frames(i).faces(0).landmarks(30).x(), 1e-3);
  }
  int faces = 0;  // every face has a PNG, filled ones included
  for (const auto& frame : first->frames()) faces += frame.faces_size();
  int pngs = 0;
  for (const auto& entry : fs::directory_iterator(one)) pngs += entry.path().extension() == ".png";
  EXPECT_EQ(pngs, faces);
  EXPECT_GE(pngs, 8);
  int none = 0;
  for (const auto& entry : fs::directory_iterator(two)) none += entry.path().extension() == ".png";
  EXPECT_EQ(none, 0);
}

// The landmarks each face had before smoothing: its raw_landmarks when smoothing changed them.
std::vector<float> RawLandmarks(const proto::Face& face) {
  std::vector<float> out;
  for (const proto::Point& p :
       face.raw_landmarks_size() > 0 ? face.raw_landmarks() : face.landmarks()) {
    out.push_back(p.x());
    out.push_back(p.y());
  }
  return out;
}

std::vector<float> Landmarks(const proto::Face& face) {
  std::vector<float> out;
  for (const proto::Point& p : face.landmarks()) {
    out.push_back(p.x());
    out.push_back(p.y());
  }
  return out;
}

TEST(ExtractCliTest, VideosAreSmoothedAndAlignmentsSmoothRedoesOrUndoesIt) {
  const std::string dir = testing::MakeTempDir("fsc-extract");
  const std::string video = testing::DataDir() + "/Megamind.avi";
  CommandResult smoothed =
      RunFsc("extract " + video + " -o " + dir + "/auto --every-n 10 --no-faces --json");
  ASSERT_EQ(smoothed.exit_code, 0) << smoothed.output;
  EXPECT_NE(smoothed.output.find("\"smoothing\""), std::string::npos) << smoothed.output;
  CommandResult raw =
      RunFsc("extract " + video + " -o " + dir + "/off --every-n 10 --no-faces " + "--smooth off");
  ASSERT_EQ(raw.exit_code, 0) << raw.output;
  const std::string file = dir + "/auto/alignments.fsa";
  auto first = face::ReadAlignments(file);
  auto off = face::ReadAlignments(dir + "/off/alignments.fsa");
  ASSERT_TRUE(first.ok() && off.ok());

  // Every processed frame carries its histogram, faces or not; auto smoothed the video.
  EXPECT_EQ(first->frames_size(), 27);
  EXPECT_EQ(off->frames_size(), 27);
  for (const proto::Frame& frame : first->frames()) EXPECT_GT(frame.histogram_size(), 0);
  ASSERT_TRUE(first->has_smoothing());
  EXPECT_EQ(first->smoothing().strength(), 1.0);
  EXPECT_EQ(first->smoothing().max_gap(), 5);
  EXPECT_GT(first->smoothing().tracks(), 0);
  EXPECT_FALSE(off->has_smoothing());
  // The detected faces' raw landmarks are what --smooth off gives (detected faces keep their
  // places in a frame; filled ones come after them).
  std::map<std::pair<int64_t, int>, std::vector<float>> off_landmarks;  // (frame, face)
  for (const proto::Frame& frame : off->frames()) {
    for (int i = 0; i < frame.faces_size(); ++i) {
      EXPECT_EQ(frame.faces(i).track_id(), 0);
      EXPECT_EQ(frame.faces(i).identity_size(), 0) << "no tracks, no descriptors";
      off_landmarks[{frame.index(), i}] = Landmarks(frame.faces(i));
    }
  }
  int detected = 0, crowded_frames = 0;
  for (const proto::Frame& frame : first->frames()) {
    const int found = static_cast<int>(std::count_if(frame.faces().begin(), frame.faces().end(),
                                                     [](const auto& f) { return !f.filled(); }));
    if (found >= 2) ++crowded_frames;
    for (int i = 0; i < frame.faces_size(); ++i) {
      const proto::Face& face = frame.faces(i);
      EXPECT_GT(face.track_id(), 0) << "frame " << frame.index();
      if (face.filled()) continue;
      ++detected;
      // Faces that share a frame carry descriptors, so tracks tell the people apart; a lone
      // face does without.
      EXPECT_EQ(face.identity_size(), found >= 2 ? 128 : 0) << "frame " << frame.index();
      EXPECT_EQ(RawLandmarks(face), (off_landmarks[{frame.index(), i}]))
          << "frame " << frame.index() << " face " << i;
    }
  }
  EXPECT_EQ(detected, static_cast<int>(off_landmarks.size()));
  EXPECT_GT(crowded_frames, 0) << "the video's background face shares frames with the main one";

  // The summary shows the tracks.
  CommandResult dump = RunFsc("alignments dump " + file);
  ASSERT_EQ(dump.exit_code, 0) << dump.output;
  EXPECT_NE(dump.output.find("track 1: frames"), std::string::npos) << dump.output;
  EXPECT_NE(dump.output.find("smoothing:  strength 1"), std::string::npos) << dump.output;

  // --strength 0 rewrites the file with the raw landmarks back in place.
  CommandResult undo = RunFsc("alignments smooth " + file + " --strength 0 --json");
  ASSERT_EQ(undo.exit_code, 0) << undo.output;
  nlohmann::json summary = nlohmann::json::parse(undo.output);
  EXPECT_EQ(summary["strength"], 0.0);
  EXPECT_EQ(summary["tracks"], first->smoothing().tracks());
  auto restored = face::ReadAlignments(file);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(restored->smoothing().strength(), 0.0);
  ASSERT_EQ(restored->frames_size(), first->frames_size());
  for (const proto::Frame& frame : restored->frames()) {
    for (int i = 0; i < frame.faces_size(); ++i) {
      if (frame.faces(i).filled()) continue;
      EXPECT_EQ(Landmarks(frame.faces(i)), (off_landmarks[{frame.index(), i}]))
          << "frame " << frame.index() << " face " << i;
    }
  }
  // Smoothing again with the defaults gives the extract's own file back: it starts from raw.
  CommandResult redo = RunFsc("alignments smooth " + dir + "/auto");
  ASSERT_EQ(redo.exit_code, 0) << redo.output;
  EXPECT_NE(redo.output.find("tracks"), std::string::npos) << redo.output;
  auto again = face::ReadAlignments(file);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->SerializeAsString(), first->SerializeAsString());

  // Out-of-range settings are usage errors naming the range; the file is left alone.
  for (const char* bad : {"--strength 9", "--max-gap 61", "--strength nan"}) {
    CommandResult refused = RunFsc("alignments smooth " + file + " " + bad);
    EXPECT_EQ(refused.exit_code, 2) << bad << ": " << refused.output;
  }
  CommandResult mode = RunFsc("extract " + video + " -o " + dir + "/x --smooth always");
  EXPECT_EQ(mode.exit_code, 2) << mode.output;
  EXPECT_NE(mode.output.find("--smooth"), std::string::npos) << mode.output;
  EXPECT_FALSE(fs::exists(dir + "/x"));
  CommandResult help = RunFsc("extract --help");
  EXPECT_NE(help.output.find("--max-gap"), std::string::npos) << help.output;
  EXPECT_NE(help.output.find("0..8"), std::string::npos) << help.output;
  EXPECT_EQ(face::ReadAlignments(file)->SerializeAsString(), first->SerializeAsString());
  fs::remove_all(dir);
}

// The decoded frames of `video` with the given indices.
std::map<int64_t, cv::Mat> DecodeFrames(const std::string& video, const std::set<int64_t>& wanted) {
  std::map<int64_t, cv::Mat> frames;
  auto source = media::FrameSource::Open(video);
  EXPECT_TRUE(source.ok()) << source.status();
  if (!source.ok()) return frames;
  while (auto frame = (*source)->Next()) {
    if (wanted.count(frame->index)) frames[frame->index] = frame->image;
  }
  return frames;
}

// Checks that every face's PNG in `dir` was cut for the face as `alignments` hold it: its
// metadata has the face's landmarks and transform, and its pixels are exactly the warp of the
// decoded frame by the face's transform. Counts the filled faces in `filled`.
void ExpectPngsFollow(const std::string& dir, const std::string& video,
                      const proto::Alignments& alignments, int* filled) {
  std::set<int64_t> indices;
  for (const proto::Frame& frame : alignments.frames()) indices.insert(frame.index());
  std::map<int64_t, cv::Mat> images = DecodeFrames(video, indices);
  *filled = 0;
  for (const proto::Frame& frame : alignments.frames()) {
    for (int i = 0; i < frame.faces_size(); ++i) {
      const proto::Face& face = frame.faces(i);
      const std::string where = absl::StrCat("frame ", frame.index(), " face ", i);
      *filled += face.filled() ? 1 : 0;
      ASSERT_FALSE(face.face_file().empty()) << where << ": every face has a PNG";
      absl::StatusOr<std::string> png = util::ReadFile(dir + "/" + face.face_file());
      ASSERT_TRUE(png.ok()) << where << ": " << png.status();
      auto metadata = face::ReadFaceMetadata(*png, face.face_file());
      ASSERT_TRUE(metadata.ok()) << metadata.status();
      EXPECT_EQ(Landmarks(metadata->face()), Landmarks(face)) << where;
      EXPECT_EQ(metadata->face().transform().SerializeAsString(),
                face.transform().SerializeAsString())
          << where;
      EXPECT_EQ(metadata->face().filled(), face.filled()) << where;
      const cv::Mat transform = face::TransformOf(face);
      auto expected = face::WarpAlignedCrop(images[frame.index()], transform, face.aligned_size());
      ASSERT_TRUE(expected.ok()) << expected.status();
      cv::Mat crop = cv::imdecode(std::vector<uchar>(png->begin(), png->end()), cv::IMREAD_COLOR);
      ASSERT_EQ(crop.size(), expected->size()) << where;
      EXPECT_EQ(cv::norm(crop, *expected, cv::NORM_INF), 0) << where;
      const auto aligned =
          face::TransformPoints(transform, face::LandmarksFromPoints(face.landmarks()));
      EXPECT_EQ(face::LandmarksFromPoints(metadata->aligned_landmarks()), aligned) << where;
    }
  }
}

TEST(ExtractCliTest, FacePngsFollowTheSmoothedLandmarks) {
  const std::string dir = testing::MakeTempDir("fsc-recut");
  // A copy of the video, so that it can go missing.
  const std::string video = dir + "/clip.avi";
  fs::copy_file(testing::DataDir() + "/Megamind.avi", video);
  CommandResult run = testing::RunCommand(testing::BinDir() + "/fsc extract " + video + " -o " +
                                          dir + "/auto --every-n 3 --threads 2 --json 2>/dev/null");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  nlohmann::json report = nlohmann::json::parse(run.output);
  ASSERT_TRUE(report.contains("smoothing")) << run.output;
  EXPECT_GT(report["smoothing"]["faces_recut"].get<int>(), 0) << run.output;
  CommandResult raw =
      RunFsc("extract " + video + " -o " + dir + "/off --every-n 3 --threads 2 --smooth off");
  ASSERT_EQ(raw.exit_code, 0) << raw.output;
  const std::string file = dir + "/auto/alignments.fsa";
  auto smoothed = face::ReadAlignments(file);
  ASSERT_TRUE(smoothed.ok()) << smoothed.status();
  int moved = 0;
  for (const proto::Frame& frame : smoothed->frames()) {
    for (const proto::Face& face : frame.faces()) moved += face.raw_landmarks_size() > 0 ? 1 : 0;
  }
  ASSERT_GT(moved, 0);
  int filled = 0;
  ExpectPngsFollow(dir + "/auto", video, *smoothed, &filled);
  EXPECT_EQ(filled, smoothed->smoothing().faces_filled());
  EXPECT_GT(filled, 0) << "every third frame of the video has a missed face inside a track";
  // All cut once, from the smoothed landmarks.
  EXPECT_EQ(report["smoothing"]["faces_recut"].get<int>(), report["faces_written"].get<int>());
  EXPECT_EQ(report["faces_written"].get<int>(), report["faces_found"].get<int>() + filled);
  const std::map<std::string, cv::Mat> first_pngs = testing::PngPixels(dir + "/auto");

  // Undone: the detected faces' PNGs are again exactly what an extraction without smoothing cuts.
  CommandResult undo = RunFsc("alignments smooth " + file + " --strength 0 --json");
  ASSERT_EQ(undo.exit_code, 0) << undo.output;
  nlohmann::json summary = nlohmann::json::parse(undo.output);
  // The moved faces, and the filled ones, now between raw landmarks.
  EXPECT_EQ(summary["faces_recut"].get<int>(), moved + filled) << undo.output;
  auto undone = face::ReadAlignments(file);
  ASSERT_TRUE(undone.ok()) << undone.status();
  // One pass, from the first frame to cut to the last: never more frames than the video has.
  EXPECT_GT(summary["frames_decoded"].get<int>(), 0) << undo.output;
  EXPECT_LE(summary["frames_decoded"].get<int>(), undone->source().frame_count()) << undo.output;
  int filled_undone = 0;
  ExpectPngsFollow(dir + "/auto", video, *undone, &filled_undone);
  EXPECT_EQ(filled_undone, filled);
  const std::map<std::string, cv::Mat> raw_pngs = testing::PngPixels(dir + "/off");
  const std::map<std::string, cv::Mat> undone_pngs = testing::PngPixels(dir + "/auto");
  for (const auto& [name, pixels] : raw_pngs) {
    ASSERT_TRUE(undone_pngs.count(name)) << name;
    EXPECT_EQ(cv::norm(pixels, undone_pngs.at(name), cv::NORM_INF), 0) << name;
  }
  EXPECT_EQ(undone_pngs.size(), raw_pngs.size() + filled);

  // The video is gone: the file is smoothed again, but the PNGs cannot follow, and it says so.
  fs::rename(video, dir + "/moved.avi");
  CommandResult missing = RunFsc("alignments smooth " + file);
  EXPECT_EQ(missing.exit_code, 3) << missing.output;
  EXPECT_NE(missing.output.find("NOT cut again"), std::string::npos) << missing.output;
  EXPECT_NE(missing.output.find("--source"), std::string::npos) << missing.output;
  // Another video is refused, and the file is left alone.
  const std::string before = *util::ReadFile(file);
  CommandResult other = RunFsc("alignments smooth " + file + " --strength 2 --source " +
                               testing::DataDir() + "/sample1.jpg");
  EXPECT_EQ(other.exit_code, 1) << other.output;
  EXPECT_NE(other.output.find("is not the one the alignments were extracted from"),
            std::string::npos)
      << other.output;
  EXPECT_EQ(*util::ReadFile(file), before);
  // With --source, the PNGs catch up: smoothed again with the defaults, the extraction's own.
  CommandResult found = RunFsc("alignments smooth " + file + " --source " + dir + "/moved.avi");
  ASSERT_EQ(found.exit_code, 0) << found.output;
  auto again = face::ReadAlignments(file);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->SerializeAsString(), smoothed->SerializeAsString());
  const std::map<std::string, cv::Mat> again_pngs = testing::PngPixels(dir + "/auto");
  ASSERT_EQ(again_pngs.size(), first_pngs.size());
  for (const auto& [name, pixels] : first_pngs) {
    ASSERT_TRUE(again_pngs.count(name)) << name;
    EXPECT_EQ(cv::norm(pixels, again_pngs.at(name), cv::NORM_INF), 0) << name;
  }
  // Without gap filling the filled faces are gone, and so are their PNGs.
  CommandResult no_gaps =
      RunFsc("alignments smooth " + file + " --max-gap 0 --json --source " + dir + "/moved.avi");
  ASSERT_EQ(no_gaps.exit_code, 0) << no_gaps.output;
  EXPECT_EQ(nlohmann::json::parse(no_gaps.output)["filled_pngs_removed"].get<int>(), filled)
      << no_gaps.output;
  EXPECT_EQ(testing::PngPixels(dir + "/auto").size(), first_pngs.size() - filled);
  fs::remove_all(dir);
}

TEST(ExtractCliTest, TruncatedVideoStillWritesValidAlignmentsAndNamesTheFile) {
  std::string dir = testing::MakeTempDir("fsc-extract");
  std::string bytes = *util::ReadFile(testing::DataDir() + "/Megamind.avi");
  ASSERT_TRUE(util::WriteFileAtomically(dir + "/cut.avi", bytes.substr(0, bytes.size() / 3)).ok());
  CommandResult run =
      RunFsc("extract " + dir + "/cut.avi -o " + dir + "/out --every-n 20 --no-faces");
  EXPECT_EQ(run.exit_code, 3) << run.output;
  EXPECT_NE(run.output.find("cut.avi"), std::string::npos) << run.output;
  auto alignments = face::ReadAlignments(dir + "/out/alignments.fsa");
  ASSERT_TRUE(alignments.ok()) << alignments.status();
  EXPECT_GE(alignments->frames_size(), 2);
}

// A video ffmpeg re-encoded into AVI states a frame more than it decodes (a placeholder for a
// dropped frame); extract takes it as the whole video it is.
TEST(ExtractCliTest, ReEncodedAviIsAWholeVideo) {
  std::string dir = testing::MakeTempDir("fsc-extract");
  CommandResult encode =
      testing::RunCommand("ffmpeg -nostdin -v error -y -i " + testing::DataDir() +
                          "/Megamind.avi -t 2 -an -c:v mjpeg " + dir + "/mjpeg.avi 2>&1");
  ASSERT_EQ(encode.exit_code, 0) << encode.output;
  CommandResult run =
      RunFsc("extract " + dir + "/mjpeg.avi -o " + dir + "/out --every-n 20 --no-faces");
  EXPECT_EQ(run.exit_code, 0) << run.output;
  auto alignments = face::ReadAlignments(dir + "/out/alignments.fsa");
  ASSERT_TRUE(alignments.ok()) << alignments.status();
  EXPECT_EQ(alignments->frames_size(), 3);
}

TEST(ExtractCliTest, FolderWithAnUnreadableImage) {
  std::string dir = testing::MakeTempDir("fsc-extract");
  fs::create_directory(dir + "/in");
  fs::copy_file(testing::DataDir() + "/astronaut.png", dir + "/in/astronaut.png");
  std::ofstream(dir + "/in/broken.jpg") << "definitely not a jpeg";
  CommandResult run = RunFsc("extract " + dir + "/in -o " + dir + "/out");
  EXPECT_EQ(run.exit_code, 3) << run.output;
  EXPECT_NE(run.output.find("broken.jpg"), std::string::npos) << run.output;
  auto alignments = face::ReadAlignments(dir + "/out/alignments.fsa");
  ASSERT_TRUE(alignments.ok()) << alignments.status();
  ASSERT_EQ(alignments->frames_size(), 1);
  EXPECT_EQ(alignments->frames(0).name(), "astronaut.png");
}

TEST(ExtractCliTest, ClearErrorsAndNothingWritten) {
  std::string dir = testing::MakeTempDir("fsc-extract");
  fs::create_directory(dir + "/empty");
  CommandResult empty = RunFsc("extract " + dir + "/empty -o " + dir + "/out");
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_NE(empty.output.find("no images"), std::string::npos) << empty.output;
  EXPECT_FALSE(fs::exists(dir + "/out/alignments.fsa"));

  CommandResult missing = RunFsc("extract " + dir + "/missing.mp4 -o " + dir + "/out");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("missing.mp4"), std::string::npos);

  CommandResult detector =
      RunFsc("extract " + testing::DataDir() + "/astronaut.png -o " + dir + "/out --detector nope");
  EXPECT_EQ(detector.exit_code, 2) << "a usage error, found before any work";
  EXPECT_NE(detector.output.find("--detector: 'nope' is not one of: ssd, tiny, blazeface"),
            std::string::npos)
      << detector.output;

  CommandResult usage = RunFsc("extract --size");
  EXPECT_EQ(usage.exit_code, 2);

  CommandResult models = RunFsc("extract " + testing::DataDir() + "/astronaut.png -o " + dir +
                                "/out --models-dir " + dir + "/no-models");
  EXPECT_EQ(models.exit_code, 1);
  EXPECT_NE(models.output.find("scripts/setup"), std::string::npos) << models.output;
}

TEST(ExtractCliTest, IdentityFilterKeepsOnlyThePerson) {
  // The astronaut's own aligned face as the reference: in a folder with her photo and a group
  // photo of other people, only her face is kept.
  std::string dir = testing::MakeTempDir("fsc-extract");
  CommandResult reference =
      RunFsc("extract " + testing::DataDir() + "/astronaut.png -o " + dir + "/ref");
  ASSERT_EQ(reference.exit_code, 0) << reference.output;
  fs::create_directory(dir + "/in");
  fs::copy_file(testing::DataDir() + "/astronaut.png", dir + "/in/astronaut.png");
  fs::copy_file(testing::DataDir() + "/sample1.jpg", dir + "/in/sample1.jpg");
  CommandResult run = RunFsc("extract " + dir + "/in -o " + dir + "/out --no-faces --filter " +
                             dir + "/ref/astronaut_000000_0.png");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto alignments = face::ReadAlignments(dir + "/out/alignments.fsa");
  ASSERT_TRUE(alignments.ok());
  ASSERT_EQ(alignments->frames_size(), 1) << run.output;
  EXPECT_EQ(alignments->frames(0).name(), "astronaut.png");
  EXPECT_LT(alignments->frames(0).faces(0).identity_distance(), 0.3);
}

}  // namespace
}  // namespace fsc
