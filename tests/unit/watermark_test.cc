// Tests for the synthetic label's pixel and file halves: the watermark (embed/detect, PSNR,
// robustness to JPEG and downscaling, no false positives on real photos, video frames and
// noise, all frame sizes) and the PNG/JPEG metadata tag.
#include "core/convert/watermark.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <string>
#include <vector>

#include "core/convert/synthetic_label.h"
#include "core/util/file_io.h"
#include "tests/test_paths.h"

namespace fsc::convert {
namespace {

// Unmarked images must stay far below the threshold of 6 (Hoeffding: P(z >= 4) < 3.4e-4).
constexpr double kUnmarkedMaxZ = 4.0;

cv::Mat LoadImage(const std::string& name) {
  cv::Mat image = cv::imread(testing::DataDir() + "/" + name, cv::IMREAD_COLOR);
  EXPECT_FALSE(image.empty()) << name;
  return image;
}

std::vector<cv::Mat> MegamindFrames(int count, int step) {
  cv::VideoCapture capture(testing::DataDir() + "/Megamind.avi");
  std::vector<cv::Mat> frames;
  cv::Mat frame;
  for (int i = 0; static_cast<int>(frames.size()) < count && capture.read(frame); ++i) {
    if (i % step == 0) frames.push_back(frame.clone());
  }
  EXPECT_EQ(static_cast<int>(frames.size()), count);
  return frames;
}

// A synthetic test card: gradients, shapes and some texture.
cv::Mat TestCard(cv::Size size) {
  cv::Mat card(size, CV_8UC3);
  for (int y = 0; y < size.height; ++y) {
    for (int x = 0; x < size.width; ++x) {
      card.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uint8_t>(255 * x / size.width),
                                           static_cast<uint8_t>(255 * y / size.height), 128);
    }
  }
  cv::circle(card, {size.width / 3, size.height / 2}, size.height / 4, {30, 200, 60}, -1);
  cv::rectangle(card, cv::Rect(size.width / 2, size.height / 4, size.width / 4, size.height / 3),
                {220, 220, 220}, -1);
  cv::Mat noise(size, CV_8UC3);
  cv::randn(noise, 0, 6);
  cv::add(card, noise, card);
  return card;
}

cv::Mat JpegRoundTrip(const cv::Mat& image, int quality) {
  std::vector<uchar> buffer;
  cv::imencode(".jpg", image, buffer, {cv::IMWRITE_JPEG_QUALITY, quality});
  return cv::imdecode(buffer, cv::IMREAD_COLOR);
}

cv::Mat Half(const cv::Mat& image) {
  cv::Mat half;
  cv::resize(image, half, cv::Size(), 0.5, 0.5, cv::INTER_AREA);
  return half;
}

TEST(WatermarkTest, RealImagesAreMarkedInvisiblyAndSurviveJpeg50AndHalfSize) {
  std::vector<std::pair<std::string, cv::Mat>> images;
  for (int i = 1; i <= 6; ++i) {
    std::string name = "sample" + std::to_string(i) + ".jpg";
    images.emplace_back(name, LoadImage(name));
  }
  images.emplace_back("astronaut.png", LoadImage("astronaut.png"));
  images.emplace_back("Megamind frame 100", MegamindFrames(1, 100).front());
  for (const auto& [name, original] : images) {
    cv::Mat marked = original.clone();
    ASSERT_TRUE(EmbedWatermark(&marked)) << name;
    const double psnr = cv::PSNR(original, marked);
    WatermarkScore clean = DetectWatermark(marked);
    WatermarkScore jpeg = DetectWatermark(JpegRoundTrip(marked, 50));
    WatermarkScore half = DetectWatermark(Half(marked));
    WatermarkScore both = DetectWatermark(Half(JpegRoundTrip(marked, 50)));
    std::printf(
        "%-20s %4dx%-4d PSNR %.1f dB  z: unmarked %5.2f marked %5.1f jpeg50 %5.1f "
        "half %5.1f jpeg50+half %5.1f\n",
        name.c_str(), original.cols, original.rows, psnr, DetectWatermark(original).z, clean.z,
        jpeg.z, half.z, both.z);
    EXPECT_GE(psnr, 38.0) << name;
    EXPECT_TRUE(clean.found) << name;
    EXPECT_TRUE(jpeg.found) << name << " z " << jpeg.z;
    EXPECT_TRUE(half.found) << name << " z " << half.z;
    EXPECT_TRUE(both.found) << name << " z " << both.z;
    EXPECT_GT(clean.confidence, 0.99) << name;
  }
}

TEST(WatermarkTest, UnmarkedPhotosVideoFramesAndNoiseAreNotFound) {
  std::vector<cv::Mat> images;
  for (int i = 1; i <= 6; ++i) images.push_back(LoadImage("sample" + std::to_string(i) + ".jpg"));
  images.push_back(LoadImage("astronaut.png"));
  for (const cv::Mat& frame : MegamindFrames(9, 30)) images.push_back(frame);
  cv::RNG rng(12345);
  for (int i = 0; i < 6; ++i) {
    cv::Mat noise(cv::Size(97 + 211 * i, 80 + 150 * i), CV_8UC3);
    rng.fill(noise, i % 2 ? cv::RNG::UNIFORM : cv::RNG::NORMAL, 0, i % 2 ? 255 : 60);
    if (i >= 3) cv::GaussianBlur(noise, noise, cv::Size(0, 0), i);  // smoother noise too
    images.push_back(noise);
  }
  images.push_back(TestCard({720, 528}));
  images.push_back(cv::Mat(300, 400, CV_8UC3, cv::Scalar(90, 90, 90)));  // flat
  double max_z = -100;
  for (size_t i = 0; i < images.size(); ++i) {
    WatermarkScore score = DetectWatermark(images[i]);
    EXPECT_FALSE(score.found) << "image " << i;
    EXPECT_LT(score.z, kUnmarkedMaxZ) << "image " << i;
    EXPECT_LT(score.confidence, 0.2) << "image " << i;
    max_z = std::max(max_z, score.z);
  }
  std::printf("largest z over %zu unmarked images: %.2f (threshold %.1f)\n", images.size(), max_z,
              kFoundZ);
}

TEST(WatermarkTest, EverySizeFrom64UpCarriesIt) {
  for (cv::Size size : {cv::Size(64, 64), cv::Size(333, 177), cv::Size(177, 333),
                        cv::Size(721, 529), cv::Size(1920, 1080)}) {
    cv::Mat card = TestCard(size);
    cv::Mat marked = card.clone();
    ASSERT_TRUE(EmbedWatermark(&marked)) << size;
    EXPECT_EQ(marked.size(), size);
    WatermarkScore score = DetectWatermark(marked);
    EXPECT_TRUE(score.found) << size << " z " << score.z;
    EXPECT_LT(DetectWatermark(card).z, kUnmarkedMaxZ) << size;
    EXPECT_GE(cv::PSNR(card, marked), 38.0) << size;
    // Embedding twice is harmless: the frame keeps the mark.
    EXPECT_TRUE(EmbedWatermark(&marked));
    EXPECT_TRUE(DetectWatermark(marked).found) << size;
  }
}

TEST(WatermarkTest, TooSmallOrWrongTypeIsLeftAlone) {
  cv::Mat small = TestCard({63, 200});
  cv::Mat copy = small.clone();
  EXPECT_FALSE(EmbedWatermark(&small));
  EXPECT_EQ(cv::norm(small, copy, cv::NORM_INF), 0);
  cv::Mat grey(100, 100, CV_8UC1, cv::Scalar(7));
  EXPECT_FALSE(EmbedWatermark(&grey));
  EXPECT_FALSE(EmbedWatermark(nullptr));
  cv::Mat empty;
  EXPECT_FALSE(EmbedWatermark(&empty));
  EXPECT_EQ(DetectWatermark(empty).z, 0);
  EXPECT_EQ(DetectWatermark(small).z, 0);
}

TEST(WatermarkTest, OnlyLumaChanges) {
  cv::Mat card = TestCard({400, 300});
  cv::Mat marked = card.clone();
  ASSERT_TRUE(EmbedWatermark(&marked));
  cv::Mat ycc_a, ycc_b;
  cv::cvtColor(card, ycc_a, cv::COLOR_BGR2YCrCb);
  cv::cvtColor(marked, ycc_b, cv::COLOR_BGR2YCrCb);
  std::vector<cv::Mat> a, b;
  cv::split(ycc_a, a);
  cv::split(ycc_b, b);
  EXPECT_GT(cv::norm(a[0], b[0], cv::NORM_L2), 0);
  // Chroma moves only where a channel clipped at 0 or 255 (and by rounding).
  EXPECT_LE(cv::norm(a[1], b[1], cv::NORM_L1) / a[1].total(), 0.05);
  EXPECT_LE(cv::norm(a[2], b[2], cv::NORM_L1) / a[2].total(), 0.05);
}

TEST(WatermarkTest, KeyedToPositionMirroredMarkIsNotFound) {
  cv::Mat marked = LoadImage("sample2.jpg");
  ASSERT_TRUE(EmbedWatermark(&marked));
  cv::Mat mirrored;
  cv::flip(marked, mirrored, 1);
  EXPECT_TRUE(DetectWatermark(marked).found);
  EXPECT_LT(DetectWatermark(mirrored).z, kUnmarkedMaxZ);
}

TEST(WatermarkTest, CombinedResponseOfFramesAddsUp) {
  std::vector<cv::Mat> frames = MegamindFrames(7, 40);
  frames.erase(frames.begin());  // frame 0 is black: no response at all
  EXPECT_TRUE(WatermarkResponse(MegamindFrames(1, 1).front()).empty());
  std::vector<float> marked_sum, unmarked_sum;
  for (cv::Mat& frame : frames) {
    std::vector<float> unmarked = WatermarkResponse(frame);
    ASSERT_TRUE(EmbedWatermark(&frame));
    // A weakened mark: JPEG 30 of a half-size frame.
    std::vector<float> marked = WatermarkResponse(JpegRoundTrip(Half(frame), 30));
    ASSERT_EQ(marked.size(), unmarked.size());
    if (marked_sum.empty()) {
      marked_sum.assign(marked.size(), 0.f);
      unmarked_sum.assign(marked.size(), 0.f);
    }
    for (size_t i = 0; i < marked.size(); ++i) {
      marked_sum[i] += marked[i];
      unmarked_sum[i] += unmarked[i];
    }
  }
  EXPECT_TRUE(ScoreResponse(marked_sum).found);
  EXPECT_LT(ScoreResponse(unmarked_sum).z, kUnmarkedMaxZ);
  EXPECT_EQ(ScoreResponse({1.f, 2.f}).z, 0);  // wrong length
}

TEST(WatermarkTest, ConfidenceIsHalfAtTheThresholdAndMonotonic) {
  EXPECT_DOUBLE_EQ(ConfidenceFromZ(kFoundZ), 0.5);
  EXPECT_LT(ConfidenceFromZ(0), 0.01);
  EXPECT_GT(ConfidenceFromZ(15), 0.999);
  EXPECT_LT(ConfidenceFromZ(3), ConfidenceFromZ(4));
}

TEST(SyntheticLabelTest, PngAndJpegCarryTheTagAndStillDecode) {
  const std::string dir = testing::MakeTempDir("fsc_label");
  cv::Mat image = TestCard({160, 120});
  ASSERT_TRUE(EmbedWatermark(&image));
  for (const std::string name : {"a.png", "b.jpg", "c.JPEG"}) {
    const std::string path = dir + "/" + name;
    ASSERT_TRUE(WriteLabelledImage(path, image, 90).ok()) << name;
    auto bytes = util::ReadFile(path);
    ASSERT_TRUE(bytes.ok());
    auto label = FindImageLabel(*bytes);
    ASSERT_TRUE(label.has_value()) << name;
    EXPECT_EQ(*label, kSyntheticTag);
    cv::Mat decoded = cv::imread(path, cv::IMREAD_COLOR);
    ASSERT_FALSE(decoded.empty()) << name;
    EXPECT_EQ(decoded.size(), image.size());
    if (name == "a.png") {
      EXPECT_EQ(cv::norm(decoded, image, cv::NORM_INF), 0);  // lossless
    }
    EXPECT_TRUE(DetectWatermark(decoded).found) << name;
  }
  // No temp files are left beside the outputs.
  auto listing = testing::RunCommand("ls " + dir + " | wc -l");
  EXPECT_EQ(listing.output, "3\n");
}

TEST(SyntheticLabelTest, PlainFilesHaveNoTagAndBadInputIsAnError) {
  cv::Mat image = TestCard({100, 80});
  for (const std::string ext : {".png", ".jpg"}) {
    std::vector<uchar> buffer;
    ASSERT_TRUE(cv::imencode(ext, image, buffer));
    EXPECT_FALSE(FindImageLabel(std::string(buffer.begin(), buffer.end())).has_value()) << ext;
  }
  auto sample = util::ReadFile(testing::DataDir() + "/sample1.jpg");
  ASSERT_TRUE(sample.ok());
  EXPECT_FALSE(FindImageLabel(*sample).has_value());
  EXPECT_FALSE(FindImageLabel("").has_value());
  EXPECT_FALSE(FindImageLabel("\x89PNG\r\n\x1a\n\0\0\0").has_value());  // truncated
  EXPECT_FALSE(AddLabelToPng("not a png").ok());
  EXPECT_FALSE(AddLabelToJpeg("not a jpeg").ok());
  const std::string dir = testing::MakeTempDir("fsc_label_bad");
  EXPECT_EQ(WriteLabelledImage(dir + "/x.png", cv::Mat()).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(WriteLabelledImage(dir + "/noext", image).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(WriteLabelledImage(dir + "/x.unknownfmt", image).ok());
  EXPECT_TRUE(IsSyntheticLabel(std::string("prefix ") + kSyntheticTag));
  EXPECT_FALSE(IsSyntheticLabel("synthetic"));
}

TEST(SyntheticLabelTest, FfmpegArgumentsComeInPairs) {
  std::vector<std::string> args = SyntheticMetadataArgs();
  ASSERT_FALSE(args.empty());
  ASSERT_EQ(args.size() % 2, 0u);
  for (size_t i = 0; i < args.size(); i += 2) {
    EXPECT_EQ(args[i], "-metadata");
    EXPECT_NE(args[i + 1].find(kSyntheticTag), std::string::npos);
  }
}

}  // namespace
}  // namespace fsc::convert
