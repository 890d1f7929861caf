// The ffmpeg-backed video writer: exact rational frame rates survive, frames are counted, the
// output appears only when Finish() succeeds, Abort() and a dead ffmpeg leave nothing behind,
// and the audio codec choice follows the container.
#include "core/media/video_writer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <opencv2/imgproc.hpp>

#include "tests/test_paths.h"

namespace fsc::media {
namespace {

namespace fs = std::filesystem;

cv::Mat Frame(int index) {
  cv::Mat frame(48, 64, CV_8UC3, cv::Scalar(20, 40, 60));
  cv::circle(frame, {8 + index * 4, 24}, 6, cv::Scalar(200, 220, 240), cv::FILLED);
  return frame;
}

TEST(VideoWriterTest, WritesExactFrameCountAndRationalRateAtomically) {
  const std::string dir = testing::MakeTempDir("fsc-video-writer");
  const std::string path = dir + "/out.mp4";
  VideoWriterOptions options;
  options.preset = "ultrafast";
  absl::StatusOr<std::unique_ptr<VideoWriter>> writer =
      VideoWriter::Open(path, 64, 48, "30000/1001", options);
  ASSERT_TRUE(writer.ok()) << writer.status();
  for (int i = 0; i < 12; ++i) ASSERT_TRUE((*writer)->Write(Frame(i)).ok());
  EXPECT_FALSE((*writer)->Write(cv::Mat(10, 10, CV_8UC3)).ok());  // wrong size
  // Until Finish() nothing is at the output path (ffmpeg writes the hidden temporary).
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(fs::path((*writer)->temp_path()).parent_path(), fs::path(dir));
  ASSERT_TRUE((*writer)->Finish().ok());
  EXPECT_FALSE(fs::exists((*writer)->temp_path()));
  absl::StatusOr<VideoInfo> info = ProbeVideo(path);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->width, 64);
  EXPECT_EQ(info->height, 48);
  EXPECT_EQ(info->frame_rate, "30000/1001");
  EXPECT_EQ(info->frame_count, 12);
  EXPECT_FALSE(info->has_audio);
  fs::remove_all(dir);
}

TEST(VideoWriterTest, AbortAndFailedEncodesLeaveNothing) {
  const std::string dir = testing::MakeTempDir("fsc-video-writer");
  VideoWriterOptions options;
  options.preset = "ultrafast";
  {
    auto writer = VideoWriter::Open(dir + "/aborted.mp4", 64, 48, "25/1", options);
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Write(Frame(0)).ok());
    (*writer)->Abort();
  }
  {
    // An option ffmpeg refuses: it exits, and Finish reports its message.
    options.extra_output_args = {"-no-such-option", "1"};
    auto writer = VideoWriter::Open(dir + "/failed.mp4", 64, 48, "25/1", options);
    ASSERT_TRUE(writer.ok());
    absl::Status written = (*writer)->Write(Frame(0));
    absl::Status finished = (*writer)->Finish();
    EXPECT_FALSE(written.ok() && finished.ok());
  }
  EXPECT_TRUE(fs::is_empty(dir)) << "left behind in " << dir;
  fs::remove_all(dir);
}

TEST(VideoWriterTest, RefusesMissingFoldersAndUnknownEncoders) {
  VideoWriterOptions options;
  auto writer = VideoWriter::Open("/no/such/folder/out.mp4", 64, 48, "25/1", options);
  EXPECT_EQ(writer.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(CheckEncoder("libx264").ok());
  absl::Status bad = CheckEncoder("no-such-encoder");
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("no-such-encoder"), std::string::npos);
}

TEST(VideoWriterTest, AudioIsCopiedWhereTheContainerTakesIt) {
  EXPECT_EQ(AudioCodecFor("a.mp4", "aac"), "copy");
  EXPECT_EQ(AudioCodecFor("a.mp4", "ac3"), "copy");
  EXPECT_EQ(AudioCodecFor("a.mp4", "pcm_s16le"), "aac");
  EXPECT_EQ(AudioCodecFor("a.MKV", "pcm_s16le"), "copy");
  EXPECT_EQ(AudioCodecFor("a.webm", "aac"), "libopus");
  const std::vector<std::string> args =
      FfmpegEncodeArgs("o.mp4", 63, 48, "24/1", VideoWriterOptions());
  // Odd sizes cannot be 4:2:0; full chroma keeps the exact size instead.
  EXPECT_NE(std::find(args.begin(), args.end(), "yuv444p"), args.end());
  EXPECT_EQ(args.back(), "o.mp4");
}

}  // namespace
}  // namespace fsc::media
