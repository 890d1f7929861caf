// fsc convert end to end with the real binaries: faces extracted from the sample video by
// `fsc extract`, a lightweight model trained for a few iterations by `fsc train`, then
// `fsc convert`. The video output is checked with ffprobe (frame count, exact frame rate,
// duration, size, audio, synthetic tag) and frame by frame against the source (changes
// concentrated on the faces); images give labelled images under the same names, frames without
// faces pass through; bad input is refused before any work and leaves nothing behind.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "core/convert/converter.h"
#include "core/convert/int8_swap_net.h"
#include "core/convert/synthetic_label.h"
#include "core/face/alignments_file.h"
#include "core/util/file_io.h"
#include "tests/test_paths.h"

namespace fsc {
namespace {

namespace fs = std::filesystem;

using testing::CommandResult;
using testing::RunCommand;

CommandResult Fsc(const std::string& arguments, bool with_stderr = true) {
  return RunCommand(testing::BinDir() + "/fsc " + arguments +
                    (with_stderr ? " 2>&1" : " 2>/dev/null"));
}

nlohmann::json Probe(const std::string& path, const std::string& extra) {
  CommandResult r = RunCommand("ffprobe -v error " + extra + " -of json '" + path + "'");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return nlohmann::json::parse(r.output, nullptr, false);
}

// Files in `dir` whose names start with ".fsc-tmp" (left-over temporaries).
int Temporaries(const std::string& dir) {
  int n = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().filename().string().rfind(".fsc-tmp", 0) == 0) ++n;
  }
  return n;
}

class ConvertTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new std::string(testing::MakeTempDir("fsc-convert"));
    video_ = new std::string(testing::DataDir() + "/Megamind.avi");
    // Every frame: convert swaps every face the alignments list.
    CommandResult extract = Fsc("extract " + *video_ + " -o " + *root_ + "/faces --threads 2");
    ASSERT_EQ(extract.exit_code, 0) << extract.output;
    CommandResult train = Fsc("train --model lightweight --a " + *root_ + "/faces --b " + *root_ +
                              "/faces -m " + *root_ +
                              "/model --iterations 1 --batch 2 "
                              "--save-every 1 --preview-every 0 --log-every 1 --threads 2 "
                              "--lr 1e-3 --seed 1");
    ASSERT_EQ(train.exit_code, 0) << train.output;
    // A folder of images: one with a face, one without.
    fs::create_directories(*root_ + "/photos");
    fs::copy_file(testing::DataDir() + "/astronaut.png", *root_ + "/photos/astronaut.png");
    cv::Mat plain(120, 160, CV_8UC3);
    for (int y = 0; y < plain.rows; ++y) {
      for (int x = 0; x < plain.cols; ++x) plain.at<cv::Vec3b>(y, x) = cv::Vec3b(x, y, x + y);
    }
    ASSERT_TRUE(cv::imwrite(*root_ + "/photos/plain.png", plain));
    CommandResult photos = Fsc("extract " + *root_ + "/photos -o " + *root_ + "/photo_faces");
    ASSERT_EQ(photos.exit_code, 0) << photos.output;
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(*root_, ec);
    delete root_;
    delete video_;
  }
  static std::string Model() { return " -m " + *root_ + "/model "; }
  static std::string VideoAlignments() { return " --alignments " + *root_ + "/faces "; }

  static std::string* root_;
  static std::string* video_;
};
std::string* ConvertTest::root_ = nullptr;
std::string* ConvertTest::video_ = nullptr;

TEST_F(ConvertTest, VideoKeepsFramesRateDurationAudioAndIsLabelled) {
  const std::string out = *root_ + "/out.mp4";
  CommandResult run = Fsc("convert " + *video_ + Model() + VideoAlignments() + "-o " + out +
                              " --color rct --sharpen unsharp --json",
                          false);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  nlohmann::json summary = nlohmann::json::parse(run.output, nullptr, false);
  ASSERT_FALSE(summary.is_discarded()) << run.output;
  EXPECT_EQ(summary["frames"], 270);
  EXPECT_GT(summary["faces_swapped"].get<int>(), 200);
  EXPECT_EQ(Temporaries(*root_), 0);

  const std::string streams = "-count_frames -show_streams -show_format";
  nlohmann::json src = Probe(*video_, streams), dst = Probe(out, streams);
  ASSERT_TRUE(dst.contains("streams"));
  const nlohmann::json* src_video = nullptr;
  const nlohmann::json* dst_video = nullptr;
  bool dst_audio = false;
  for (const auto& s : src["streams"]) {
    if (s["codec_type"] == "video") src_video = &s;
  }
  for (const auto& s : dst["streams"]) {
    if (s["codec_type"] == "video") dst_video = &s;
    if (s["codec_type"] == "audio") dst_audio = true;
  }
  ASSERT_TRUE(src_video && dst_video);
  EXPECT_EQ((*dst_video)["nb_read_frames"], (*src_video)["nb_read_frames"]);
  EXPECT_EQ((*dst_video)["nb_read_frames"], "270");
  EXPECT_EQ((*dst_video)["avg_frame_rate"], (*src_video)["avg_frame_rate"]);
  EXPECT_EQ((*dst_video)["width"], 720);
  EXPECT_EQ((*dst_video)["height"], 528);
  EXPECT_EQ((*dst_video)["codec_name"], "h264");
  const double frame = 125.0 / 2997;
  EXPECT_NEAR(std::stod((*dst_video)["duration"].get<std::string>()),
              std::stod((*src_video)["duration"].get<std::string>()), frame);
  EXPECT_TRUE(dst_audio) << "the source's audio track was not carried over";
  // The container says what it is.
  const std::string tags = dst["format"].value("tags", nlohmann::json::object()).dump();
  EXPECT_TRUE(convert::IsSyntheticLabel(dst["format"]["tags"].value("comment", "")))
      << "format tags: " << tags;

  // Frame by frame: the changes sit on the faces. Outside the faces only the codec's loss and
  // the faint watermark remain; inside, the swapped face differs far more.
  absl::StatusOr<proto::Alignments> alignments =
      face::ReadAlignments(*root_ + "/faces/alignments.fsa");
  ASSERT_TRUE(alignments.ok());
  std::map<int64_t, std::vector<cv::Rect>> boxes;
  for (const proto::Frame& f : alignments->frames()) {
    for (const proto::Face& face : f.faces()) {
      const proto::Box& b = face.box();
      // Generous: the coverage square reaches past the detector's box.
      boxes[f.index()].push_back(
          cv::Rect(static_cast<int>(b.x() - b.width()), static_cast<int>(b.y() - b.height()),
                   static_cast<int>(3 * b.width()), static_cast<int>(3 * b.height())) &
          cv::Rect(0, 0, 720, 528));
    }
  }
  cv::VideoCapture a(*video_), b(out);
  ASSERT_TRUE(a.isOpened() && b.isOpened());
  double outside_sum = 0, inside_sum = 0, plain_sum = 0;
  int64_t outside_n = 0, inside_n = 0, plain_n = 0;
  for (int index = 0; index < 270; index += 9) {
    a.set(cv::CAP_PROP_POS_FRAMES, index);
    b.set(cv::CAP_PROP_POS_FRAMES, index);
    cv::Mat fa, fb, diff;
    ASSERT_TRUE(a.read(fa) && b.read(fb)) << "frame " << index;
    cv::absdiff(fa, fb, diff);
    cv::cvtColor(diff, diff, cv::COLOR_BGR2GRAY);
    cv::Mat face_area = cv::Mat::zeros(diff.size(), CV_8UC1);
    for (const cv::Rect& r : boxes[index]) face_area(r).setTo(255);
    const double outside = cv::sum(diff & ~face_area)[0];
    const int64_t n_out = diff.total() - cv::countNonZero(face_area);
    if (boxes[index].empty()) {
      plain_sum += outside, plain_n += n_out;
    } else {
      outside_sum += outside, outside_n += n_out;
      // The tightest part of the face: the detector box itself.
      const proto::Frame* frame_faces = nullptr;
      for (const proto::Frame& f : alignments->frames()) {
        if (f.index() == index) frame_faces = &f;
      }
      for (const proto::Face& face : frame_faces->faces()) {
        const cv::Rect box =
            cv::Rect(static_cast<int>(face.box().x()), static_cast<int>(face.box().y()),
                     static_cast<int>(face.box().width()), static_cast<int>(face.box().height())) &
            cv::Rect(0, 0, 720, 528);
        inside_sum += cv::sum(diff(box))[0];
        inside_n += box.area();
      }
    }
  }
  ASSERT_GT(outside_n, 0);
  ASSERT_GT(inside_n, 0);
  const double outside_mean = outside_sum / outside_n, inside_mean = inside_sum / inside_n;
  EXPECT_LT(outside_mean, 4.0) << "pixels away from the faces changed too much";
  EXPECT_GT(inside_mean, 3 * outside_mean) << "the faces were not swapped (inside " << inside_mean
                                           << ", outside " << outside_mean << ")";

  // fsc verify, where this build has it, finds the label.
  if (Fsc("--help").output.find("verify") != std::string::npos) {
    CommandResult verify = Fsc("verify " + out);
    EXPECT_EQ(verify.exit_code, 0) << verify.output;
  }
}

TEST_F(ConvertTest, ImagesGiveLabelledImagesUnderTheSameNames) {
  const std::string out = *root_ + "/photos_out";
  CommandResult run = Fsc("convert " + *root_ + "/photos" + Model() + "--alignments " + *root_ +
                          "/photo_faces/alignments.fsa -o " + out + " --color hist-match");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  ASSERT_TRUE(fs::is_directory(out));
  EXPECT_EQ(Temporaries(*root_), 0);
  // The image without a face passes through pixel for pixel (PNG is lossless).
  cv::Mat plain_in = cv::imread(*root_ + "/photos/plain.png");
  cv::Mat plain_out = cv::imread(out + "/plain.png");
  ASSERT_FALSE(plain_out.empty());
  EXPECT_EQ(cv::norm(plain_in, plain_out, cv::NORM_INF), 0);
  // The face is swapped and the file says it is synthetic.
  cv::Mat face_in = cv::imread(*root_ + "/photos/astronaut.png");
  cv::Mat face_out = cv::imread(out + "/astronaut.png");
  ASSERT_EQ(face_out.size(), face_in.size());
  EXPECT_GT(cv::norm(face_in, face_out, cv::NORM_INF), 30);
  absl::StatusOr<std::string> bytes = util::ReadFile(out + "/astronaut.png");
  ASSERT_TRUE(bytes.ok());
  EXPECT_TRUE(convert::FindImageLabel(*bytes).has_value());
  // A second run refuses to overwrite the now non-empty folder.
  CommandResult again = Fsc("convert " + *root_ + "/photos" + Model() + "--alignments " + *root_ +
                            "/photo_faces -o " + out);
  EXPECT_EQ(again.exit_code, 1) << again.output;
  EXPECT_NE(again.output.find("not empty"), std::string::npos) << again.output;

  // One image in, one image file out.
  const std::string single = *root_ + "/single_alignments";
  ASSERT_EQ(Fsc("extract " + *root_ + "/photos/astronaut.png -o " + single).exit_code, 0);
  CommandResult one = Fsc("convert " + *root_ + "/photos/astronaut.png" + Model() +
                          "--alignments " + single + " -o " + *root_ + "/one.jpg");
  ASSERT_EQ(one.exit_code, 0) << one.output;
  cv::Mat one_out = cv::imread(*root_ + "/one.jpg");
  EXPECT_EQ(one_out.size(), face_in.size());
}

// A cluster task converts one range of frames; in int8 each range calibrates on the whole
// source's first faces, so its frames are bit-identical to the same frames of a conversion of the
// whole source (PNG frames, lossless), and no seam shows where two ranges meet. Calibrating on
// the range's own faces instead gives different frames, which shows the comparison can fail.
TEST_F(ConvertTest, Int8RangeCalibratedOnTheWholeSourceEqualsTheWholeConversion) {
  if (!convert::Int8Available()) GTEST_SKIP() << "this LibTorch has no int8 engine";
  const std::string dir = *root_ + "/range";
  fs::create_directories(dir + "/all");
  fs::create_directories(dir + "/part");
  CommandResult frames = RunCommand("ffmpeg -v error -nostdin -i " + *video_ +
                                    " -frames:v 40 -start_number 0 " + dir + "/all/f%04d.png 2>&1");
  ASSERT_EQ(frames.exit_code, 0) << frames.output;
  std::vector<std::string> part_names;
  for (int i = 25; i < 40; ++i) {
    char name[16];
    std::snprintf(name, sizeof(name), "f%04d.png", i);
    part_names.push_back(name);
    fs::copy_file(dir + "/all/" + name, dir + "/part/" + name);
  }
  for (const char* folder : {"all", "part"}) {
    CommandResult extract =
        Fsc("extract " + dir + "/" + folder + " -o " + dir + "/" + folder + "_faces --threads 2");
    ASSERT_EQ(extract.exit_code, 0) << extract.output;
  }
  auto convert = [&](const std::string& folder, const std::string& out, bool whole_calibration) {
    convert::ConvertOptions options;
    options.precision = "int8";
    options.alignments_path = dir + "/" + folder + "_faces/alignments.fsa";
    if (whole_calibration) {
      options.calibration_input = dir + "/all";
      options.calibration_alignments_path = dir + "/all_faces/alignments.fsa";
    }
    return convert::RunConversion(dir + "/" + folder, *root_ + "/model", dir + "/" + out, options,
                                  nullptr);
  };
  auto whole = convert("all", "out_all", false);
  ASSERT_TRUE(whole.ok()) << whole.status();
  auto range = convert("part", "out_range", true);
  ASSERT_TRUE(range.ok()) << range.status();
  auto own = convert("part", "out_own", false);
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_EQ(range->calibration_input, dir + "/all");
  EXPECT_EQ(range->calibration_frames, whole->calibration_frames);
  ASSERT_FALSE(range->calibration_frames.empty());
  EXPECT_LT(range->calibration_frames.back(), 25) << "the source's first faces";
  ASSERT_FALSE(own->calibration_frames.empty());

  double range_diff = 0, own_diff = 0;
  for (const std::string& name : part_names) {
    const cv::Mat reference = cv::imread(dir + "/out_all/" + name, cv::IMREAD_UNCHANGED);
    const cv::Mat from_range = cv::imread(dir + "/out_range/" + name, cv::IMREAD_UNCHANGED);
    const cv::Mat from_own = cv::imread(dir + "/out_own/" + name, cv::IMREAD_UNCHANGED);
    ASSERT_FALSE(reference.empty() || from_range.empty() || from_own.empty()) << name;
    range_diff = std::max(range_diff, cv::norm(reference, from_range, cv::NORM_INF));
    own_diff = std::max(own_diff, cv::norm(reference, from_own, cv::NORM_INF));
  }
  EXPECT_EQ(range_diff, 0) << "a range calibrated on the whole source differs from it";
  EXPECT_GT(own_diff, 0) << "calibration on other faces should change some pixel";
}

TEST_F(ConvertTest, MissingOrCorruptModelIsAClearErrorAndLeavesNoOutput) {
  const std::string out_dir = testing::MakeTempDir("fsc-convert-out");
  const std::string out = out_dir + "/out.mp4";
  CommandResult run = Fsc("convert " + *video_ + " -m " + *root_ + "/no_such_model" +
                          VideoAlignments() + "-o " + out);
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("no_such_model"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("fsc train"), std::string::npos) << run.output;
  EXPECT_FALSE(fs::exists(out));

  // A copy of the model with its weights truncated.
  const std::string broken = out_dir + "/broken";
  fs::copy(*root_ + "/model", broken, fs::copy_options::recursive);
  for (const auto& entry : fs::directory_iterator(broken)) {
    if (entry.path().filename().string().rfind("weights_", 0) == 0) {
      fs::resize_file(entry.path(), fs::file_size(entry.path()) / 2);
    }
  }
  run = Fsc("convert " + *video_ + " -m " + broken + VideoAlignments() + "-o " + out);
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("truncated"), std::string::npos) << run.output;
  EXPECT_FALSE(fs::exists(out));
  EXPECT_EQ(Temporaries(out_dir), 0);
  fs::remove_all(out_dir);
}

TEST_F(ConvertTest, AlignmentsOfAnotherSourceAreRefused) {
  const std::string out = *root_ + "/wrong.mp4";
  CommandResult run = Fsc("convert " + *video_ + Model() + "--alignments " + *root_ +
                          "/photo_faces/alignments.fsa -o " + out);
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("another source"), std::string::npos) << run.output;
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(ConvertTest, UnwritableOutputAndBadOptionsFailBeforeAnyWork) {
  CommandResult run = Fsc("convert " + *video_ + Model() + VideoAlignments() + "-o " + *root_ +
                          "/no/such/folder/out.mp4");
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("does not exist"), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("converted"), std::string::npos);
  // A file where the output folder should be.
  ASSERT_TRUE(util::WriteFileAtomically(*root_ + "/a_file", "x").ok());
  run =
      Fsc("convert " + *video_ + Model() + VideoAlignments() + "-o " + *root_ + "/a_file/out.mp4");
  EXPECT_EQ(run.exit_code, 1) << run.output;

  run = Fsc("convert " + *video_ + Model() + VideoAlignments() + "-o " + *root_ +
            "/x.mp4 --color sepia");
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("avg-color"), std::string::npos) << run.output;
  run = Fsc("convert " + *video_ + Model() + VideoAlignments() + "-o " + *root_ +
            "/x.mp4 --swap sideways");
  EXPECT_EQ(run.exit_code, 2) << run.output;
  run = Fsc("convert " + *video_ + Model() + VideoAlignments() + "-o " + *root_ +
            "/x.mp4 --codec no-such-codec");
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("no-such-codec"), std::string::npos) << run.output;
  EXPECT_FALSE(fs::exists(*root_ + "/x.mp4"));
  EXPECT_EQ(Fsc("convert --help").exit_code, 0);
  EXPECT_EQ(Temporaries(*root_), 0);
}

}  // namespace
}  // namespace fsc
