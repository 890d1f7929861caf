// Image headers and the checked decoder: real files of every format fsc reads give the size they
// decode to; header-only files declaring huge sizes are refused before any decoding; truncated and
// foreign bytes are told apart.
#include "core/media/image_header.h"

#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "core/media/image_reader.h"
#include "core/util/file_io.h"
#include "tests/hostile_images.h"
#include "tests/test_paths.h"

namespace fsc::media {
namespace {

std::string Encode(const std::string& ext, const cv::Mat& image) {
  std::vector<uchar> bytes;
  EXPECT_TRUE(cv::imencode(ext, image, bytes)) << ext;
  return std::string(bytes.begin(), bytes.end());
}

TEST(ImageHeaderTest, RealFilesOfEveryFormatGiveTheirSize) {
  const cv::Mat image(37, 53, CV_8UC3, cv::Scalar(20, 120, 220));
  const std::pair<const char*, ImageFormat> formats[] = {{".png", ImageFormat::kPng},
                                                         {".jpg", ImageFormat::kJpeg},
                                                         {".bmp", ImageFormat::kBmp},
                                                         {".webp", ImageFormat::kWebp},
                                                         {".tiff", ImageFormat::kTiff}};
  for (const auto& [ext, format] : formats) {
    const std::string bytes = Encode(ext, image);
    auto header = ReadImageHeader(bytes);
    ASSERT_TRUE(header.ok()) << ext << ": " << header.status();
    EXPECT_EQ(header->format, format) << ext;
    EXPECT_EQ(header->width, 53) << ext;
    EXPECT_EQ(header->height, 37) << ext;
    auto decoded = DecodeImage(bytes, cv::IMREAD_COLOR, ext);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(decoded->size(), image.size()) << ext;
  }
  // Lossless WebP (VP8L) and the sample photos.
  std::vector<uchar> vp8l;
  ASSERT_TRUE(cv::imencode(".webp", image, vp8l, {cv::IMWRITE_WEBP_QUALITY, 101}));
  auto header = ReadImageHeader(std::string(vp8l.begin(), vp8l.end()));
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ(header->width, 53);
  EXPECT_EQ(header->height, 37);
  for (const char* name : {"astronaut.png", "sample1.jpg"}) {
    auto bytes = util::ReadFile(testing::DataDir() + "/" + name);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    auto real = ReadImageHeader(*bytes);
    ASSERT_TRUE(real.ok()) << name << ": " << real.status();
    auto decoded = DecodeImage(*bytes, cv::IMREAD_COLOR, name);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(decoded->cols, real->width) << name;
    EXPECT_EQ(decoded->rows, real->height) << name;
  }
}

TEST(ImageHeaderTest, HeaderOnlyFilesDeclaringHugeSizesAreRefusedBeforeDecoding) {
  const std::pair<std::string, std::string> cases[] = {
      {testing::PngHeader(100000, 100000), "PNG header declares 100000x100000"},
      {testing::JpegHeader(65000, 65000), "JPEG header declares 65000x65000"},
      {testing::BmpHeader(50000, -50000), "BMP header declares 50000x50000"},
      {testing::WebpHeader(16000, 16000), "WebP header declares 16000x16000"},
      {testing::TiffHeader(70000, 10), "TIFF header declares 70000x10"},
  };
  for (const auto& [bytes, says] : cases) {
    auto header = ReadImageHeader(bytes);
    ASSERT_TRUE(header.ok()) << says << ": " << header.status();
    absl::Status size = CheckImageSize(*header);
    EXPECT_EQ(size.code(), absl::StatusCode::kInvalidArgument) << says;
    EXPECT_NE(size.message().find(says), std::string::npos) << size;
    EXPECT_NE(size.message().find("100 megapixels and 65535 pixels a side"), std::string::npos)
        << size;
    auto decoded = DecodeImage(bytes, cv::IMREAD_COLOR, "in/huge");
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(decoded.status().message().rfind("in/huge: ", 0), 0u) << decoded.status();
  }
}

TEST(ImageHeaderTest, TheLimitIsInclusive) {
  ImageHeader header{ImageFormat::kPng, 10000, 10000};
  EXPECT_TRUE(CheckImageSize(header).ok());
  header.width = 10001;
  EXPECT_FALSE(CheckImageSize(header).ok());
  header = {ImageFormat::kPng, kMaxImageSide, 1};
  EXPECT_TRUE(CheckImageSize(header).ok());
  header.width = kMaxImageSide + 1;
  EXPECT_FALSE(CheckImageSize(header).ok());
  // Sizes whose product overflows 64 bits.
  header = {ImageFormat::kTiff, int64_t{1} << 40, int64_t{1} << 40};
  EXPECT_FALSE(CheckImageSize(header).ok());
}

TEST(ImageHeaderTest, TruncatedMalformedAndForeignBytes) {
  const std::string png = testing::PngHeader(64, 64);
  for (size_t keep : {size_t{0}, size_t{3}, size_t{8}, size_t{20}}) {
    auto header = ReadImageHeader(png.substr(0, keep));
    EXPECT_FALSE(header.ok()) << keep;
  }
  EXPECT_EQ(ReadImageHeader(png.substr(0, 20)).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(ReadImageHeader(testing::PngHeader(0, 5)).status().code(), absl::StatusCode::kDataLoss);
  const std::string jpeg = testing::JpegHeader(10, 10);
  EXPECT_EQ(ReadImageHeader(jpeg.substr(0, 24)).status().code(), absl::StatusCode::kDataLoss);
  auto gif = ReadImageHeader(std::string("GIF89a\x01\x00\x01\x00", 10));
  EXPECT_EQ(gif.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(gif.status().message().find("PNG, JPEG, BMP, WebP or TIFF"), std::string::npos);
  EXPECT_FALSE(ReadImageHeader("RIFF").ok());
  EXPECT_FALSE(ReadImageHeader("").ok());

  // A header that passes, pixel data that does not decode: DATA_LOSS naming the file.
  auto decoded = DecodeImage(png, cv::IMREAD_COLOR, "cut.png");
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(decoded.status().message().find("cut.png: the PNG pixel data cannot be decoded"),
            std::string::npos)
      << decoded.status();
}

TEST(ImageReaderTest, FilesOverTheByteLimitAreRefusedUnread) {
  const std::string dir = testing::MakeTempDir("fsc-image-reader");
  const std::string path = dir + "/big.png";
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    // A sparse file: no disk space, but its size is over the limit.
    ASSERT_EQ(std::fseek(f, kMaxImageFileBytes, SEEK_SET), 0);
    ASSERT_EQ(std::fputc(0, f), 0);
    std::fclose(f);
  }
  auto bytes = ReadImageFile(path);
  EXPECT_EQ(bytes.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bytes.status().message().find("big.png"), std::string::npos) << bytes.status();
  EXPECT_EQ(ReadImage(dir + "/missing.png").status().code(), absl::StatusCode::kNotFound);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace fsc::media
