// End-to-end test of the synthetic label: a video marked the way `fsc convert` marks it (every
// frame watermarked, piped raw into ffmpeg/libx264 with the synthetic metadata) is re-encoded
// with the ffmpeg CLI at CRF 28, downscaled to half size and stripped of metadata; the real
// `fsc verify` binary must still find the watermark, and must not find it in the untouched
// source video and photos.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>
#include <string>
#include <vector>

#include "core/convert/synthetic_label.h"
#include "core/convert/watermark.h"
#include "core/util/subprocess.h"
#include "tests/test_paths.h"

namespace fsc::convert {
namespace {

struct Verified {
  int exit_code;
  std::string out;
  std::string err;
};

Verified Verify(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {testing::BinDir() + "/fsc", "verify"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto run = util::RunProcess(argv);
  EXPECT_TRUE(run.ok()) << run.status();
  if (!run.ok()) return {-1, "", ""};
  return {run->exit_code, run->out, run->err};
}

nlohmann::json VerifyJson(const std::string& path, int expected_exit) {
  Verified v = Verify({path, "--json"});
  EXPECT_EQ(v.exit_code, expected_exit) << path << "\n" << v.out << v.err;
  nlohmann::json json = nlohmann::json::parse(v.out, nullptr, false);
  EXPECT_FALSE(json.is_discarded()) << v.out;
  std::printf("%s: watermark %s, z %.1f (combined %.1f), %d/%d frames, metadata %s\n",
              std::filesystem::path(path).filename().c_str(),
              json.value("watermark_found", false) ? "found" : "not found", json.value("z", 0.0),
              json.value("combined_z", 0.0), json.value("frames_with_watermark", 0),
              json.value("frames_checked", 0), json.value("metadata_found", false) ? "yes" : "no");
  return json;
}

void Ffmpeg(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"ffmpeg", "-y", "-v", "error", "-nostdin"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto run = util::RunProcess(argv);
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_EQ(run->exit_code, 0) << run->err;
}

// Marks the first `frames` frames of the source and encodes them as convert does.
void MakeMarkedVideo(const std::string& source, int frames, const std::string& out) {
  cv::VideoCapture capture(source);
  ASSERT_TRUE(capture.isOpened()) << source;
  const int width = static_cast<int>(capture.get(cv::CAP_PROP_FRAME_WIDTH));
  const int height = static_cast<int>(capture.get(cv::CAP_PROP_FRAME_HEIGHT));
  std::vector<std::string> argv = {"ffmpeg",   "-y",
                                   "-v",       "error",
                                   "-f",       "rawvideo",
                                   "-pix_fmt", "bgr24",
                                   "-s",       std::to_string(width) + "x" + std::to_string(height),
                                   "-r",       "25",
                                   "-i",       "pipe:0",
                                   "-c:v",     "libx264",
                                   "-preset",  "veryfast",
                                   "-crf",     "18",
                                   "-pix_fmt", "yuv420p"};
  for (const std::string& arg : SyntheticMetadataArgs()) argv.push_back(arg);
  argv.push_back(out);
  auto encoder = util::ChildProcess::Start(argv);
  ASSERT_TRUE(encoder.ok()) << encoder.status();
  cv::Mat frame;
  for (int i = 0; i < frames && capture.read(frame); ++i) {
    ASSERT_TRUE(EmbedWatermark(&frame));
    ASSERT_TRUE((*encoder)->Write(frame.data, frame.total() * frame.elemSize()).ok());
  }
  auto code = (*encoder)->Finish();
  ASSERT_TRUE(code.ok());
  ASSERT_EQ(*code, 0) << (*encoder)->StderrTail();
}

TEST(VerifyTest, WatermarkSurvivesCrf28DownscaleAndMetadataStripping) {
  const std::string dir = testing::MakeTempDir("fsc_verify");
  const std::string marked = dir + "/marked.mp4";
  ASSERT_NO_FATAL_FAILURE(MakeMarkedVideo(testing::DataDir() + "/Megamind.avi", 60, marked));
  const std::string crf28 = dir + "/crf28.mp4", half = dir + "/half.mp4",
                    stripped = dir + "/stripped.mp4", mkv = dir + "/half.mkv";
  // Exactly the re-encodes the label must survive.
  ASSERT_NO_FATAL_FAILURE(Ffmpeg({"-i", marked, "-c:v", "libx264", "-crf", "28", crf28}));
  ASSERT_NO_FATAL_FAILURE(
      Ffmpeg({"-i", marked, "-c:v", "libx264", "-crf", "28", "-vf", "scale=iw/2:ih/2", half}));
  ASSERT_NO_FATAL_FAILURE(Ffmpeg({"-i", marked, "-map_metadata", "-1", "-c:v", "libx264", "-crf",
                                  "28", "-vf", "scale=iw/2:ih/2", stripped}));
  ASSERT_NO_FATAL_FAILURE(
      Ffmpeg({"-i", marked, "-c:v", "libx264", "-crf", "28", "-vf", "scale=iw/2:ih/2", mkv}));

  for (const std::string& path : {marked, crf28, half, mkv}) {
    nlohmann::json json = VerifyJson(path, 0);
    EXPECT_TRUE(json["synthetic"].get<bool>()) << path;
    EXPECT_TRUE(json["watermark_found"].get<bool>()) << path;
    EXPECT_TRUE(json["metadata_found"].get<bool>()) << path;
    EXPECT_EQ(json["metadata"].get<std::string>(), kSyntheticTag) << path;
    EXPECT_EQ(json["frames_checked"].get<int>(), 60) << path;
    // Nearly every frame carries it on its own, not just the combination.
    EXPECT_GE(json["frames_with_watermark"].get<int>(), 54) << path;
    EXPECT_GT(json["confidence"].get<double>(), 0.99) << path;
    EXPECT_TRUE(json["is_video"].get<bool>());
  }
  // Metadata gone, watermark still there.
  nlohmann::json json = VerifyJson(stripped, 0);
  EXPECT_TRUE(json["watermark_found"].get<bool>());
  EXPECT_FALSE(json["metadata_found"].get<bool>());
  EXPECT_TRUE(json["metadata_checked"].get<bool>());
  EXPECT_GE(json["frames_with_watermark"].get<int>(), 54);

  // The human-readable report.
  Verified v = Verify({half});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_NE(v.out.find("watermark: found (confidence "), std::string::npos) << v.out;
  EXPECT_NE(v.out.find("/60 frames)"), std::string::npos) << v.out;
  EXPECT_NE(v.out.find("metadata:  synthetic ("), std::string::npos) << v.out;
  // Fewer frames sampled on request, spread over the video.
  Verified few = Verify({half, "--json", "--max-frames", "7"});
  EXPECT_EQ(few.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(few.out)["frames_checked"].get<int>(), 7);
}

TEST(VerifyTest, SourceVideoAndPhotosAreNotFound) {
  const std::string source = testing::DataDir() + "/Megamind.avi";
  nlohmann::json json = VerifyJson(source, 1);
  EXPECT_FALSE(json["synthetic"].get<bool>());
  EXPECT_FALSE(json["watermark_found"].get<bool>());
  EXPECT_FALSE(json["metadata_found"].get<bool>());
  EXPECT_EQ(json["frames_with_watermark"].get<int>(), 0);
  EXPECT_EQ(json["frames_checked"].get<int>(), 60);  // 270 frames, 60 evenly spaced
  EXPECT_LT(json["z"].get<double>(), 4.0);
  EXPECT_LT(json["confidence"].get<double>(), 0.2);
  Verified v = Verify({source});
  EXPECT_EQ(v.exit_code, 1);
  EXPECT_NE(v.out.find("watermark: not found"), std::string::npos) << v.out;
  EXPECT_NE(v.out.find("metadata:  not found"), std::string::npos) << v.out;

  for (const std::string name : {"sample1.jpg", "sample4.jpg", "astronaut.png"}) {
    json = VerifyJson(testing::DataDir() + "/" + name, 1);
    EXPECT_FALSE(json["watermark_found"].get<bool>()) << name;
    EXPECT_FALSE(json["metadata_found"].get<bool>()) << name;
    EXPECT_FALSE(json["is_video"].get<bool>()) << name;
  }
  v = Verify({testing::DataDir() + "/sample1.jpg"});
  EXPECT_EQ(v.exit_code, 1);
  EXPECT_NE(v.out.find("not found"), std::string::npos) << v.out;
}

TEST(VerifyTest, LabelledImagesAreFoundAlsoAfterStrippingAndJpeg) {
  const std::string dir = testing::MakeTempDir("fsc_verify_img");
  cv::Mat photo = cv::imread(testing::DataDir() + "/sample3.jpg", cv::IMREAD_COLOR);
  ASSERT_FALSE(photo.empty());
  ASSERT_TRUE(EmbedWatermark(&photo));
  const std::string png = dir + "/swapped.png", jpg = dir + "/swapped.jpg";
  ASSERT_TRUE(WriteLabelledImage(png, photo).ok());
  ASSERT_TRUE(WriteLabelledImage(jpg, photo, 90).ok());
  for (const std::string& path : {png, jpg}) {
    nlohmann::json json = VerifyJson(path, 0);
    EXPECT_TRUE(json["watermark_found"].get<bool>()) << path;
    EXPECT_TRUE(json["metadata_found"].get<bool>()) << path;
    EXPECT_EQ(json["frames_checked"].get<int>(), 1);
  }
  // Re-saved by another program at half size and JPEG quality 60: the tag is gone, the
  // watermark is not.
  const std::string resaved = dir + "/resaved.jpg";
  ASSERT_NO_FATAL_FAILURE(Ffmpeg({"-i", png, "-vf", "scale=iw/2:ih/2", "-q:v", "10", resaved}));
  nlohmann::json json = VerifyJson(resaved, 0);
  EXPECT_TRUE(json["watermark_found"].get<bool>());
  EXPECT_FALSE(json["metadata_found"].get<bool>());
}

TEST(VerifyTest, ErrorsAreClearAndDistinctFromNotFound) {
  const std::string dir = testing::MakeTempDir("fsc_verify_err");
  Verified missing = Verify({dir + "/nope.mp4"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("error"), std::string::npos) << missing.err;
  EXPECT_NE(missing.err.find("no such file"), std::string::npos) << missing.err;
  EXPECT_EQ(missing.out.find("not found"), std::string::npos) << missing.out;

  const std::string garbage = dir + "/garbage.mp4";
  ASSERT_TRUE(util::RunProcess({"sh", "-c", "head -c 5000 /dev/urandom > " + garbage}).ok());
  Verified corrupt = Verify({garbage});
  EXPECT_EQ(corrupt.exit_code, 1);
  EXPECT_NE(corrupt.err.find("error"), std::string::npos) << corrupt.err;
  EXPECT_NE(corrupt.err.find("garbage.mp4"), std::string::npos) << corrupt.err;

  Verified directory = Verify({dir});
  EXPECT_EQ(directory.exit_code, 1);
  EXPECT_NE(directory.err.find("not a regular file"), std::string::npos) << directory.err;

  EXPECT_EQ(Verify({}).exit_code, 2);
  EXPECT_EQ(Verify({"a", "b"}).exit_code, 2);
  EXPECT_EQ(Verify({"--bogus"}).exit_code, 2);
  EXPECT_EQ(Verify({garbage, "--max-frames", "0"}).exit_code, 2);
  Verified help = Verify({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--json"), std::string::npos);
  EXPECT_NE(help.out.find("--max-frames"), std::string::npos);
}

}  // namespace
}  // namespace fsc::convert
