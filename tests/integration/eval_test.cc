// fsc eval end to end with the real binaries, kept small: a 36-frame clip of the sample video is
// extracted, a tiny model trained for 2 iterations on it (A) and the astronaut photo (B), the clip
// converted, and the conversion evaluated. Checks: every figure is there and sane on a real
// swap; the source evaluated against itself scores a perfect, unchanged swap exactly; the report
// folder holds a readable sheet and the per-face JSON; inputs that do not belong together are
// refused with a clear message before any measuring.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "tests/test_paths.h"

namespace fsc {
namespace {

namespace fs = std::filesystem;

using testing::CommandResult;
using testing::RunCommand;

constexpr int kClipFrames = 36;

CommandResult Fsc(const std::string& arguments, bool with_stderr = true) {
  return RunCommand(testing::BinDir() + "/fsc " + arguments +
                    (with_stderr ? " 2>&1" : " 2>/dev/null"));
}

CommandResult Ffmpeg(const std::string& arguments) {
  return RunCommand("ffmpeg -nostdin -v error -y " + arguments + " 2>&1");
}

class EvalTest : public ::testing::Test {
 protected:
  // Makes the clip, A, B, a tiny model and its conversion once for the suite. A step that fails
  // is recorded, not asserted: a fatal failure in SetUpTestSuite would make GoogleTest skip the
  // tests (which ctest counts as passed), so SetUp() fails each test with the recorded reason.
  static void SetUpTestSuite() {
    root_ = new std::string(testing::MakeTempDir("fsc-eval"));
    setup_error_ = new std::string(PrepareSuite(*root_));
  }
  static std::string PrepareSuite(const std::string& r) {
    // A short clip, copied as is (the container states its frame count exactly).
    CommandResult clip = Ffmpeg("-i " + testing::DataDir() + "/Megamind.avi -frames:v " +
                                std::to_string(kClipFrames) + " -an -c copy " + r + "/clip.avi");
    if (clip.exit_code != 0) return "ffmpeg clip: " + clip.output;
    CommandResult a = Fsc("extract " + r + "/clip.avi -o " + r + "/A --threads 2");
    if (a.exit_code != 0) return "extract A: " + a.output;
    fs::create_directories(r + "/photos");
    fs::copy_file(testing::DataDir() + "/astronaut.png", r + "/photos/astronaut.png");
    CommandResult b = Fsc("extract " + r + "/photos -o " + r + "/B");
    if (b.exit_code != 0) return "extract B: " + b.output;
    if (!testing::WriteTinyArchitecture(r + "/tiny.json")) return "cannot write tiny.json";
    CommandResult train = Fsc("train --architecture " + r + "/tiny.json --a " + r + "/A --b " + r +
                              "/B -m " + r + "/model --iterations 2 --batch 1 --save-every 2 " +
                              "--preview-every 0 --threads 2 --seed 1");
    if (train.exit_code != 0) return "train: " + train.output;
    CommandResult convert = Fsc("convert " + r + "/clip.avi -m " + r + "/model --alignments " + r +
                                "/A -o " + r + "/swapped.mp4 --threads 2");
    if (convert.exit_code != 0) return "convert: " + convert.output;
    return "";
  }
  void SetUp() override { ASSERT_TRUE(setup_error_->empty()) << *setup_error_; }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(*root_, ec);
    delete root_;
    delete setup_error_;
  }
  // fsc eval SWAPPED against the clip with its alignments and B.
  static std::string Eval(const std::string& swapped, const std::string& extra = "",
                          const std::string& identity = "B") {
    const std::string& r = *root_;
    return "eval " + swapped + " --source " + r + "/clip.avi --alignments " + r + "/A --identity " +
           r + "/" + identity + " " + extra;
  }
  static nlohmann::json RunJson(const std::string& arguments) {
    CommandResult run = Fsc(arguments, false);
    EXPECT_EQ(run.exit_code, 0) << arguments << "\n" << run.output;
    nlohmann::json out = nlohmann::json::parse(run.output, nullptr, false);
    EXPECT_FALSE(out.is_discarded()) << run.output;
    return out;
  }
  static std::string* root_;
  static std::string* setup_error_;
};
std::string* EvalTest::root_ = nullptr;
std::string* EvalTest::setup_error_ = nullptr;

TEST_F(EvalTest, MeasuresARealConversion) {
  const std::string report = *root_ + "/report";
  nlohmann::json e = RunJson(Eval(*root_ + "/swapped.mp4", "--json --report " + report));
  ASSERT_TRUE(e.is_object());
  EXPECT_EQ(e["frames_evaluated"], kClipFrames);
  const int faces = e["faces_measured"].get<int>();
  EXPECT_GE(faces, kClipFrames - 2);  // the woman in (almost) every frame, plus background faces
  EXPECT_EQ(e["faces_listed"], faces);
  ASSERT_EQ(e["faces"].size(), static_cast<size_t>(faces));

  // Identity: B's reference is the astronaut; the swap moved the faces away from the source.
  EXPECT_EQ(e["identity"]["reference"]["faces"], 1);
  const double to_b = e["identity"]["to_b"]["mean"], to_source = e["identity"]["to_source"]["mean"];
  EXPECT_GT(to_b, 0.1);
  EXPECT_LT(to_b, 2.0);
  EXPECT_GT(to_source, 0.02) << "the faces were not changed";
  const double retrieval = e["identity"]["retrieval"];
  EXPECT_GE(retrieval, 0);
  EXPECT_LE(retrieval, 1);
  int histogram = 0;
  for (int c : e["identity"]["histogram_to_b"]["counts"]) histogram += c;
  EXPECT_EQ(histogram, faces);

  // Geometry: a model trained for 2 steps paints a featureless blob, so the landmarks found on it
  // (and the pose fitted to them) are far from the source's: the errors are large but measured.
  EXPECT_GT(e["pose"]["rotation"]["count"].get<int>(), faces / 2);
  const double rotation = e["pose"]["rotation"]["mean"];
  EXPECT_GT(rotation, 1);
  EXPECT_LE(rotation, 180);
  const double nme = e["expression"]["nme"]["mean"];
  EXPECT_GT(nme, 0.01);
  EXPECT_LT(nme, 2);

  // Temporal and seam figures exist and are finite.
  EXPECT_TRUE(e["temporal"]["measured"].get<bool>());
  EXPECT_GT(e["temporal"]["alignments_jitter"]["triples"].get<int>(), kClipFrames / 2);
  EXPECT_GT(e["temporal"]["alignments_jitter"]["jitter"].get<double>(), 0);
  EXPECT_GT(e["temporal"]["flicker"]["pixels"].get<int64_t>(), 0);
  EXPECT_GT(e["temporal"]["flicker"]["ratio"].get<double>(), 0);
  EXPECT_GT(e["seam"]["points"].get<int>(), 0);
  EXPECT_TRUE(e["seam"]["color_step"]["excess"].is_number());
  EXPECT_GT(e["seam"]["gradient"]["ratio"].get<double>(), 0);

  // The output is labelled synthetic.
  EXPECT_TRUE(e["label"]["checked"].get<bool>());
  EXPECT_TRUE(e["label"]["synthetic"].get<bool>());

  // The report folder: a sheet with sample frames and plots, and the same figures as JSON.
  cv::Mat sheet = cv::imread(report + "/report.png");
  ASSERT_FALSE(sheet.empty());
  EXPECT_EQ(sheet.cols, 1000);
  EXPECT_GT(sheet.rows, 1000);
  nlohmann::json saved = testing::ReadJson(report + "/eval.json");
  EXPECT_EQ(saved["faces_measured"], faces);
  EXPECT_EQ(saved["identity"]["to_b"], e["identity"]["to_b"]);

  // The table names every group.
  CommandResult table = Fsc(Eval(*root_ + "/swapped.mp4", "--max-frames 12"), false);
  ASSERT_EQ(table.exit_code, 0) << table.output;
  for (const char* word : {"identity", "ID retrieval", "pose", "expression", "jitter", "flicker",
                           "seam", "synthetic"}) {
    EXPECT_NE(table.output.find(word), std::string::npos) << word << "\n" << table.output;
  }
  EXPECT_NE(table.output.find("12 of 36 frames"), std::string::npos) << table.output;
}

TEST_F(EvalTest, TheSourceAgainstItselfIsAnUnchangedFace) {
  nlohmann::json e = RunJson(Eval(*root_ + "/clip.avi", "--json"));
  ASSERT_TRUE(e.is_object());
  EXPECT_EQ(e["frames_evaluated"], kClipFrames);
  EXPECT_EQ(e["identity"]["to_source"]["max"], 0.0);
  EXPECT_EQ(e["identity"]["retrieval"], 0.0);
  EXPECT_EQ(e["identity"]["to_b"]["mean"], e["identity"]["source_to_b"]["mean"]);
  EXPECT_NEAR(e["pose"]["rotation"]["max"].get<double>(), 0, 1e-6);
  EXPECT_EQ(e["expression"]["nme"]["max"], 0.0);
  EXPECT_EQ(e["temporal"]["flicker"]["ratio"], 1.0);
  EXPECT_EQ(e["temporal"]["swapped_landmark_jitter"], e["temporal"]["source_landmark_jitter"]);
  EXPECT_EQ(e["seam"]["color_step"]["excess"], 0.0);
  EXPECT_EQ(e["seam"]["gradient"]["ratio"], 1.0);
  EXPECT_FALSE(e["label"]["synthetic"].get<bool>());
}

// Runs `arguments`, expects exit code `code` and every one of `words` in the message.
void ExpectRefused(const std::string& arguments, int code, std::vector<std::string> words) {
  CommandResult run = Fsc(arguments);
  EXPECT_EQ(run.exit_code, code) << arguments << "\n" << run.output;
  for (const std::string& word : words) {
    EXPECT_NE(run.output.find(word), std::string::npos)
        << "'" << word << "' missing from: " << run.output;
  }
}

TEST_F(EvalTest, InputsThatDoNotBelongTogetherAreRefused) {
  const std::string& r = *root_;
  const std::string clip = r + "/clip.avi";
  // Frame count, size and rate each differ from the source.
  // (MP4 for the re-encoded ones: an AVI muxer states one frame more than it holds.)
  ASSERT_EQ(Ffmpeg("-i " + clip + " -frames:v 30 -c copy " + r + "/short.avi").exit_code, 0);
  ASSERT_EQ(Ffmpeg("-i " + clip + " -vf scale=360:264 -c:v mpeg4 " + r + "/small.mp4").exit_code,
            0);
  ASSERT_EQ(Ffmpeg("-r 12 -i " + clip + " -c:v mpeg4 " + r + "/slow.mp4").exit_code, 0);
  ExpectRefused(Eval(r + "/short.avi"), 1, {"short.avi has 30 frames", "36", "--source"});
  ExpectRefused(Eval(r + "/small.mp4"), 1, {"small.mp4 is 360x264", "720x528"});
  ExpectRefused(Eval(r + "/slow.mp4"), 1, {"slow.mp4 runs at 12 frames/s", "23.98"});
  // A folder of images against a video.
  ExpectRefused(Eval(r + "/photos"), 1, {"is a folder of images", "is a video"});
  // Alignments of another source: the photos', and the clip's for another clip of the same
  // shape (the next 36 frames of the sample video).
  ExpectRefused("eval " + r + "/swapped.mp4 --source " + clip + " --alignments " + r + "/B", 1,
                {"belongs to another source", "photos"});
  ASSERT_EQ(Ffmpeg("-i " + testing::DataDir() + "/Megamind.avi -vf 'trim=start_frame=" +
                   std::to_string(kClipFrames) + ",setpts=PTS-STARTPTS' -frames:v " +
                   std::to_string(kClipFrames) + " -an -c:v mpeg4 " + r + "/later.mp4")
                .exit_code,
            0);
  ExpectRefused("eval " + r + "/swapped.mp4 --source " + r + "/later.mp4 --alignments " + r + "/A",
                1, {"belongs to another source", "clip.avi", "later.mp4"});
  // An identity folder without faces, and one that does not exist.
  fs::create_directories(r + "/empty");
  ExpectRefused(Eval(r + "/swapped.mp4", "", "empty"), 1,
                {"identity folder", "no faces", "fsc extract"});
  ExpectRefused(Eval(r + "/swapped.mp4", "", "nowhere"), 1, {"identity folder", "nowhere"});
  // A report folder that cannot be made is refused before any measuring.
  ASSERT_EQ(Ffmpeg("-i " + clip + " -frames:v 1 " + r + "/a-file.png").exit_code, 0);
  ExpectRefused(Eval(r + "/swapped.mp4", "--report " + r + "/a-file.png/report"), 1,
                {"cannot create report folder", "a-file.png"});
  // Usage errors.
  ExpectRefused("eval " + r + "/swapped.mp4 --alignments " + r + "/A", 2, {"--source"});
  ExpectRefused("eval " + r + "/swapped.mp4 --source " + clip, 2, {"--alignments"});
  ExpectRefused(Eval(r + "/swapped.mp4", "--max-frames -3"), 2, {"--max-frames", "0.."});
  ExpectRefused(Eval(r + "/swapped.mp4", "--threads 0"), 2, {"--threads", "1..256"});
  ExpectRefused(Eval(r + "/swapped.mp4", "--identity-faces x"), 2, {"--identity-faces"});
  ExpectRefused("eval " + r + "/nothing.mp4 --source " + clip + " --alignments " + r + "/A", 1,
                {"nothing.mp4"});
}

}  // namespace
}  // namespace fsc
