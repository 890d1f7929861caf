// The synthetic-content metadata tag: ffmpeg options for videos, PNG chunks and JPEG comments
// for images (see synthetic_label.h).
#include "core/convert/synthetic_label.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <exception>
#include <opencv2/imgcodecs.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/util/file_io.h"

namespace fsc::convert {

const char kSyntheticTag[] =
    "synthetic: AI-generated face swap made with fsc; check with 'fsc verify'";
const char kSyntheticKeyword[] = "synthetic";

namespace {

constexpr char kPngSignature[] = "\x89PNG\r\n\x1a\n";
constexpr size_t kPngSignatureSize = 8;

uint32_t ReadBe32(absl::string_view s, size_t at) {
  return (static_cast<uint32_t>(static_cast<uint8_t>(s[at])) << 24) |
         (static_cast<uint32_t>(static_cast<uint8_t>(s[at + 1])) << 16) |
         (static_cast<uint32_t>(static_cast<uint8_t>(s[at + 2])) << 8) |
         static_cast<uint32_t>(static_cast<uint8_t>(s[at + 3]));
}

void AppendBe32(std::string* out, uint32_t v) {
  out->push_back(static_cast<char>(v >> 24));
  out->push_back(static_cast<char>(v >> 16));
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v));
}

// One PNG chunk: length, type, data, CRC-32 of type + data.
std::string PngChunk(absl::string_view type, absl::string_view data) {
  std::string chunk;
  AppendBe32(&chunk, static_cast<uint32_t>(data.size()));
  std::string body = absl::StrCat(type, data);
  chunk += body;
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()));
  AppendBe32(&chunk, static_cast<uint32_t>(crc));
  return chunk;
}

bool IsPng(absl::string_view s) {
  return s.size() >= kPngSignatureSize &&
         s.substr(0, kPngSignatureSize) == absl::string_view(kPngSignature, kPngSignatureSize);
}

bool IsJpeg(absl::string_view s) {
  return s.size() >= 4 && static_cast<uint8_t>(s[0]) == 0xFF &&
         static_cast<uint8_t>(s[1]) == 0xD8 && static_cast<uint8_t>(s[2]) == 0xFF;
}

std::optional<std::string> FindPngLabel(absl::string_view png) {
  size_t at = kPngSignatureSize;
  while (at + 12 <= png.size()) {
    const uint32_t length = ReadBe32(png, at);
    if (length > png.size() - at - 12) break;  // truncated
    absl::string_view type = png.substr(at + 4, 4);
    absl::string_view data = png.substr(at + 8, length);
    if (type == "IDAT" || type == "IEND") break;  // fsc writes its chunks before the pixels
    if (type == "tEXt" || type == "iTXt") {
      size_t nul = data.find('\0');
      if (nul != absl::string_view::npos) {
        absl::string_view text = data.substr(nul + 1);
        if (type == "iTXt") {
          // compression flag, method, language\0, translated keyword\0, then the text.
          if (text.size() >= 2 && text[0] == 0) {
            text.remove_prefix(2);
            for (int skip = 0; skip < 2 && !text.empty(); ++skip) {
              size_t end = text.find('\0');
              text = end == absl::string_view::npos ? absl::string_view() : text.substr(end + 1);
            }
          } else {
            text = absl::string_view();  // compressed text: fsc never writes it
          }
        }
        if (IsSyntheticLabel(text)) return std::string(text);
      }
    }
    at += 12 + length;
  }
  return std::nullopt;
}

std::optional<std::string> FindJpegLabel(absl::string_view jpeg) {
  size_t at = 2;
  while (at + 4 <= jpeg.size() && static_cast<uint8_t>(jpeg[at]) == 0xFF) {
    const uint8_t marker = static_cast<uint8_t>(jpeg[at + 1]);
    if (marker == 0xFF) {  // fill byte
      ++at;
      continue;
    }
    if (marker == 0xDA || marker == 0xD9) break;  // start of scan / end of image
    const size_t length =
        (static_cast<uint8_t>(jpeg[at + 2]) << 8) | static_cast<uint8_t>(jpeg[at + 3]);
    if (length < 2 || at + 2 + length > jpeg.size()) break;
    if (marker == 0xFE) {
      absl::string_view text = jpeg.substr(at + 4, length - 2);
      if (IsSyntheticLabel(text)) return std::string(text);
    }
    at += 2 + length;
  }
  return std::nullopt;
}

}  // namespace

bool IsSyntheticLabel(absl::string_view text) { return absl::StrContains(text, kSyntheticTag); }

std::vector<std::string> SyntheticMetadataArgs() {
  // comment and description are kept by the MP4/MOV, MKV and AVI muxers; MKV also keeps the
  // custom "synthetic" key (MP4 needs -movflags use_metadata_tags for it, which we leave to the
  // caller's own -movflags).
  return {"-metadata", absl::StrCat("comment=", kSyntheticTag),
          "-metadata", absl::StrCat("description=", kSyntheticTag),
          "-metadata", absl::StrCat(kSyntheticKeyword, "=", kSyntheticTag)};
}

absl::StatusOr<std::string> AddLabelToPng(absl::string_view png) {
  if (!IsPng(png) || png.size() < kPngSignatureSize + 12) {
    return absl::InvalidArgumentError("not a PNG stream");
  }
  // Insert right after IHDR (the first chunk), before any pixels.
  const size_t ihdr_end = kPngSignatureSize + 12 + ReadBe32(png, kPngSignatureSize);
  if (png.substr(kPngSignatureSize + 4, 4) != "IHDR" || ihdr_end > png.size()) {
    return absl::InvalidArgumentError("PNG stream does not start with IHDR");
  }
  // iTXt: keyword, 0, compression flag 0, method 0, language "", translated keyword "", text.
  std::string itxt =
      absl::StrCat(kSyntheticKeyword, absl::string_view("\0\0\0\0\0", 5), kSyntheticTag);
  std::string text = absl::StrCat("Comment", absl::string_view("\0", 1), kSyntheticTag);
  return absl::StrCat(png.substr(0, ihdr_end), PngChunk("iTXt", itxt), PngChunk("tEXt", text),
                      png.substr(ihdr_end));
}

absl::StatusOr<std::string> AddLabelToJpeg(absl::string_view jpeg) {
  if (!IsJpeg(jpeg)) return absl::InvalidArgumentError("not a JPEG stream");
  // After SOI and, when present, the JFIF APP0 segment that must come first.
  size_t at = 2;
  if (static_cast<uint8_t>(jpeg[3]) == 0xE0 && jpeg.size() >= 6) {
    at = 4 + ((static_cast<uint8_t>(jpeg[4]) << 8) | static_cast<uint8_t>(jpeg[5]));
    if (at > jpeg.size()) return absl::InvalidArgumentError("truncated JPEG APP0 segment");
  }
  const size_t length = sizeof(kSyntheticTag) - 1 + 2;
  std::string com = {static_cast<char>(0xFF), static_cast<char>(0xFE),
                     static_cast<char>(length >> 8), static_cast<char>(length & 0xFF)};
  com += kSyntheticTag;
  return absl::StrCat(jpeg.substr(0, at), com, jpeg.substr(at));
}

std::optional<std::string> FindImageLabel(absl::string_view encoded) {
  if (IsPng(encoded)) return FindPngLabel(encoded);
  if (IsJpeg(encoded)) return FindJpegLabel(encoded);
  return std::nullopt;
}

absl::Status WriteLabelledImage(const std::string& path, const cv::Mat& bgr, int jpeg_quality) {
  if (bgr.empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": empty image"));
  const size_t dot = path.rfind('.');
  const size_t slash = path.rfind('/');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": no file extension; use .png or .jpg (the extension picks the format)"));
  }
  const std::string ext = absl::AsciiStrToLower(path.substr(dot));
  const bool jpeg = ext == ".jpg" || ext == ".jpeg";
  std::vector<int> params;
  if (jpeg) params = {cv::IMWRITE_JPEG_QUALITY, std::clamp(jpeg_quality, 1, 100)};
  std::vector<uchar> buffer;
  try {
    if (!cv::imencode(ext, bgr, buffer, params)) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": OpenCV cannot encode ", ext));
    }
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": cannot write this image format (", ext, "): ", e.what()));
  }
  std::string encoded(buffer.begin(), buffer.end());
  if (ext == ".png") {
    auto labelled = AddLabelToPng(encoded);
    if (!labelled.ok())
      return absl::InternalError(absl::StrCat(path, ": ", labelled.status().message()));
    encoded = *std::move(labelled);
  } else if (jpeg) {
    auto labelled = AddLabelToJpeg(encoded);
    if (!labelled.ok())
      return absl::InternalError(absl::StrCat(path, ": ", labelled.status().message()));
    encoded = *std::move(labelled);
  }
  return util::WriteFileAtomically(path, encoded);
}

}  // namespace fsc::convert
