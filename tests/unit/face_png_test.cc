// Tests for face PNGs with embedded metadata: round trip, the pixels still decode, and damaged or
// foreign files are told apart (DATA_LOSS vs NOT_FOUND).
#include "core/face/face_png.h"

#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <random>

namespace fsc::face {
namespace {

cv::Mat RandomImage(int rows, int cols, int type, unsigned seed) {
  cv::Mat image(rows, cols, type);
  cv::RNG rng(seed);
  rng.fill(image, cv::RNG::UNIFORM, 0, 256);
  return image;
}

// Metadata with every byte value, including NULs and the bytes of "IEND".
std::string BinaryMetadata() {
  std::string bytes;
  for (int i = 0; i < 600; ++i) bytes.push_back(static_cast<char>(i * 37 % 256));
  return bytes + "IEND" + std::string(3, '\0');
}

cv::Mat Decode(const std::string& bytes, int flags = cv::IMREAD_UNCHANGED) {
  return cv::imdecode(
      cv::Mat(1, static_cast<int>(bytes.size()), CV_8U, const_cast<char*>(bytes.data())), flags);
}

std::string PlainPng(const cv::Mat& image) {
  std::vector<uchar> encoded;
  EXPECT_TRUE(cv::imencode(".png", image, encoded));
  return std::string(encoded.begin(), encoded.end());
}

TEST(FacePngTest, MetadataRoundTrips) {
  const cv::Mat image = RandomImage(48, 40, CV_8UC3, 1);
  const std::string metadata = BinaryMetadata();
  auto png = EncodePngWithMetadata(image, metadata);
  ASSERT_TRUE(png.ok()) << png.status();
  auto read = ReadPngMetadata(*png);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, metadata);
}

TEST(FacePngTest, EmptyAndLargeMetadataRoundTrip) {
  const cv::Mat image = RandomImage(8, 8, CV_8UC3, 2);
  for (size_t size : {size_t{0}, size_t{1}, size_t{3} << 20}) {
    std::string metadata(size, 'x');
    for (size_t i = 0; i < size; i += 4099) metadata[i] = static_cast<char>(i);
    auto png = EncodePngWithMetadata(image, metadata);
    ASSERT_TRUE(png.ok()) << png.status();
    auto read = ReadPngMetadata(*png);
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(*read, metadata) << size;
  }
}

TEST(FacePngTest, PixelsStillDecodeUnchanged) {
  for (int type : {CV_8UC3, CV_8UC1, CV_8UC4, CV_16UC3}) {
    const cv::Mat image = RandomImage(33, 57, type, 3);
    auto png = EncodePngWithMetadata(image, "some metadata");
    ASSERT_TRUE(png.ok()) << png.status();
    const cv::Mat decoded = Decode(*png);
    ASSERT_FALSE(decoded.empty()) << type;
    ASSERT_EQ(decoded.type(), image.type());
    EXPECT_EQ(cv::norm(decoded, image, cv::NORM_INF), 0) << type;
  }
}

TEST(FacePngTest, ChunkSitsJustBeforeIend) {
  const cv::Mat image = RandomImage(10, 10, CV_8UC3, 4);
  const std::string metadata = "abc";
  auto png = EncodePngWithMetadata(image, metadata);
  ASSERT_TRUE(png.ok());
  const std::string plain = PlainPng(image);
  ASSERT_EQ(png->size(), plain.size() + 12 + metadata.size());
  // Everything before IEND is OpenCV's, then the chunk, then IEND (the last 12 bytes).
  EXPECT_EQ(png->substr(0, plain.size() - 12), plain.substr(0, plain.size() - 12));
  EXPECT_EQ(png->substr(png->size() - 12), plain.substr(plain.size() - 12));
  const std::string chunk = png->substr(plain.size() - 12, 12 + metadata.size());
  EXPECT_EQ(chunk.substr(0, 4), std::string("\0\0\0\3", 4));
  EXPECT_EQ(chunk.substr(4, 4), "fsCm");
  EXPECT_EQ(chunk.substr(8, 3), metadata);
}

TEST(FacePngTest, FlippedByteIsDataLoss) {
  const cv::Mat image = RandomImage(20, 20, CV_8UC3, 5);
  auto png = EncodePngWithMetadata(image, BinaryMetadata());
  ASSERT_TRUE(png.ok());
  const size_t chunk = png->find("fsCm");
  ASSERT_NE(chunk, std::string::npos);
  // In the metadata itself, in its CRC, in its type, and in the image data (IDAT).
  const size_t crc = chunk + 4 + BinaryMetadata().size();
  const size_t idat = png->find("IDAT");
  ASSERT_NE(idat, std::string::npos);
  for (size_t at : {chunk + 4 + 10, crc + 1, chunk + 1, idat + 4 + 7}) {
    std::string damaged = *png;
    damaged[at] ^= 0x20;
    auto read = ReadPngMetadata(damaged);
    EXPECT_EQ(read.status().code(), absl::StatusCode::kDataLoss) << "byte " << at;
  }
}

TEST(FacePngTest, NoChunkIsNotFound) {
  const std::string plain = PlainPng(RandomImage(16, 16, CV_8UC3, 6));
  auto read = ReadPngMetadata(plain);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(read.status().message().find("fsCm"), std::string::npos);
}

TEST(FacePngTest, TruncatedFileIsDataLoss) {
  auto png = EncodePngWithMetadata(RandomImage(16, 16, CV_8UC3, 7), BinaryMetadata());
  ASSERT_TRUE(png.ok());
  const size_t chunk = png->find("fsCm");
  for (size_t length : {size_t{0}, size_t{5}, size_t{8}, size_t{20}, chunk + 50, png->size() - 12,
                        png->size() - 1}) {
    auto read = ReadPngMetadata(png->substr(0, length));
    EXPECT_EQ(read.status().code(), absl::StatusCode::kDataLoss) << "length " << length;
    EXPECT_FALSE(read.status().message().empty());
  }
}

TEST(FacePngTest, OtherFilesAreDataLoss) {
  std::vector<uchar> jpeg;
  ASSERT_TRUE(cv::imencode(".jpg", RandomImage(16, 16, CV_8UC3, 8), jpeg));
  EXPECT_EQ(ReadPngMetadata(std::string(jpeg.begin(), jpeg.end())).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(ReadPngMetadata("").status().code(), absl::StatusCode::kDataLoss);
  // A PNG signature followed by junk.
  std::string junk = PlainPng(RandomImage(4, 4, CV_8UC3, 9)).substr(0, 8) + std::string(40, '\xff');
  EXPECT_EQ(ReadPngMetadata(junk).status().code(), absl::StatusCode::kDataLoss);
}

TEST(FacePngTest, RefusesAnEmptyImage) {
  EXPECT_EQ(EncodePngWithMetadata(cv::Mat(), "x").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodePngWithMetadata(cv::Mat(4, 4, CV_64FC1, cv::Scalar(0.5)), "x").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fsc::face
