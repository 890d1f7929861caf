// Image header parsing for PNG, JPEG, BMP, WebP and TIFF. Every read is bounds-checked: the bytes
// come from users and the cluster's uploads.
//
// Where each format keeps its size:
//   PNG   signature, then the IHDR chunk: 4-byte big-endian width and height (ISO/IEC 15948).
//   JPEG  the first SOFn marker segment: 2-byte big-endian height, then width (ITU T.81 B.2.2).
//   BMP   "BM", a 14-byte file header, then a DIB header: 16-bit sizes in the 12-byte OS/2 core
//         header, signed 32-bit little-endian in the others (a negative height is top-down).
//   WebP  RIFF "WEBP", then a VP8 (lossy: 14-bit sizes after the 9d 01 2a start code), VP8L
//         (lossless: 14-bit size-1 fields after the 0x2f signature) or VP8X (extended: 24-bit
//         canvas size-1 fields) chunk (RFC 9649).
//   TIFF  "II*\0" or "MM\0*", the offset of the first directory, and in it the ImageWidth (256)
//         and ImageLength (257) entries, SHORT or LONG (TIFF 6.0 section 2). OpenCV decodes the
//         first directory, so its size is the one that counts; a tag repeated in it counts
//         with its largest value (libtiff keeps the first).
#include "core/media/image_header.h"

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace fsc::media {
namespace {

// Unsigned integers at `offset` of `bytes`; nullopt when they would run past the end.
std::optional<uint32_t> ReadUint(absl::string_view bytes, size_t offset, int size,
                                 bool big_endian) {
  if (offset > bytes.size() || bytes.size() - offset < static_cast<size_t>(size)) {
    return std::nullopt;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + offset);
  uint32_t value = 0;
  for (int i = 0; i < size; ++i) {
    const int shift = big_endian ? 8 * (size - 1 - i) : 8 * i;
    value |= uint32_t{p[i]} << shift;
  }
  return value;
}

// The `size` bytes at `offset`, or fewer (possibly none) where the input ends first.
absl::string_view BytesAt(absl::string_view bytes, size_t offset, size_t size) {
  return offset > bytes.size() ? absl::string_view() : bytes.substr(offset, size);
}

absl::Status Truncated(ImageFormat format) {
  return absl::DataLossError(absl::StrCat("the ", ImageFormatName(format),
                                          " header is truncated; the file is incomplete"));
}

absl::Status Malformed(ImageFormat format, absl::string_view what) {
  return absl::DataLossError(
      absl::StrCat("the ", ImageFormatName(format), " header is malformed (", what, ")"));
}

absl::StatusOr<ImageHeader> Sized(ImageFormat format, int64_t width, int64_t height) {
  if (width <= 0 || height <= 0) {
    return Malformed(format, absl::StrCat("declares ", width, "x", height, " pixels"));
  }
  return ImageHeader{format, width, height};
}

absl::StatusOr<ImageHeader> ReadPng(absl::string_view bytes) {
  constexpr ImageFormat kPng = ImageFormat::kPng;
  // Signature (8), IHDR length (4) and type (4), then width and height.
  auto length = ReadUint(bytes, 8, 4, true);
  auto width = ReadUint(bytes, 16, 4, true);
  auto height = ReadUint(bytes, 20, 4, true);
  if (!length || !width || !height) return Truncated(kPng);
  if (BytesAt(bytes, 12, 4) != "IHDR" || *length != 13) {
    return Malformed(kPng, "the first chunk is not a 13-byte IHDR");
  }
  // PNG sizes are at most 2^31 - 1.
  if (*width > 0x7fffffffu || *height > 0x7fffffffu) {
    return Malformed(kPng, "a size above 2^31 - 1");
  }
  return Sized(kPng, *width, *height);
}

bool IsJpegFrameMarker(uint8_t marker) {
  // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
  return marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc;
}

absl::StatusOr<ImageHeader> ReadJpeg(absl::string_view bytes) {
  constexpr ImageFormat kJpeg = ImageFormat::kJpeg;
  size_t offset = 2;  // after SOI
  while (true) {
    // Markers are 0xff, optional 0xff fill bytes, then the marker code.
    if (offset >= bytes.size()) return Truncated(kJpeg);
    if (static_cast<uint8_t>(bytes[offset]) != 0xff) {
      return Malformed(kJpeg, absl::StrCat("no marker at byte ", offset));
    }
    while (offset < bytes.size() && static_cast<uint8_t>(bytes[offset]) == 0xff) ++offset;
    if (offset >= bytes.size()) return Truncated(kJpeg);
    const uint8_t marker = static_cast<uint8_t>(bytes[offset++]);
    if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;  // no length field
    if (marker == 0xd8 || marker == 0xd9 || marker == 0xda || marker == 0x00) {
      return Malformed(kJpeg, absl::StrFormat("marker 0x%02x before the frame header", marker));
    }
    auto length = ReadUint(bytes, offset, 2, true);
    if (!length) return Truncated(kJpeg);
    if (*length < 2) return Malformed(kJpeg, "a segment length below 2");
    if (IsJpegFrameMarker(marker)) {
      // Length (2), sample precision (1), height (2), width (2).
      if (*length < 8) return Malformed(kJpeg, "a frame header shorter than 8 bytes");
      auto height = ReadUint(bytes, offset + 3, 2, true);
      auto width = ReadUint(bytes, offset + 5, 2, true);
      if (!height || !width) return Truncated(kJpeg);
      return Sized(kJpeg, *width, *height);
    }
    offset += *length;
  }
}

absl::StatusOr<ImageHeader> ReadBmp(absl::string_view bytes) {
  constexpr ImageFormat kBmp = ImageFormat::kBmp;
  auto header_size = ReadUint(bytes, 14, 4, false);
  if (!header_size) return Truncated(kBmp);
  if (*header_size == 12) {  // OS/2 BITMAPCOREHEADER
    auto width = ReadUint(bytes, 18, 2, false);
    auto height = ReadUint(bytes, 20, 2, false);
    if (!width || !height) return Truncated(kBmp);
    return Sized(kBmp, *width, *height);
  }
  if (*header_size < 16) {
    return Malformed(kBmp, absl::StrCat("a ", *header_size, "-byte DIB header"));
  }
  auto width = ReadUint(bytes, 18, 4, false);
  auto height = ReadUint(bytes, 22, 4, false);
  if (!width || !height) return Truncated(kBmp);
  const int64_t signed_width = static_cast<int32_t>(*width);
  const int64_t signed_height = static_cast<int32_t>(*height);
  // A negative height means rows stored top-down.
  return Sized(kBmp, signed_width, signed_height < 0 ? -signed_height : signed_height);
}

absl::StatusOr<ImageHeader> ReadWebp(absl::string_view bytes) {
  constexpr ImageFormat kWebp = ImageFormat::kWebp;
  constexpr size_t kChunk = 12;     // RIFF header: "RIFF", size, "WEBP"
  constexpr size_t kData = 12 + 8;  // the first chunk's fourcc and size
  if (bytes.size() < kData) return Truncated(kWebp);
  const absl::string_view fourcc = BytesAt(bytes, kChunk, 4);
  if (fourcc == "VP8 ") {
    // Frame tag (3), start code 9d 01 2a (3), then 14-bit width and height (2 scale bits each).
    if (BytesAt(bytes, kData + 3, 3) != absl::string_view("\x9d\x01\x2a", 3)) {
      return bytes.size() < kData + 6 ? Truncated(kWebp) : Malformed(kWebp, "no VP8 start code");
    }
    auto width = ReadUint(bytes, kData + 6, 2, false);
    auto height = ReadUint(bytes, kData + 8, 2, false);
    if (!width || !height) return Truncated(kWebp);
    return Sized(kWebp, *width & 0x3fff, *height & 0x3fff);
  }
  if (fourcc == "VP8L") {
    // Signature 0x2f, then width - 1 and height - 1 in 14 bits each, little-endian bit order.
    auto signature = ReadUint(bytes, kData, 1, false);
    auto bits = ReadUint(bytes, kData + 1, 4, false);
    if (!signature || !bits) return Truncated(kWebp);
    if (*signature != 0x2f) return Malformed(kWebp, "no VP8L signature");
    return Sized(kWebp, (*bits & 0x3fff) + 1, ((*bits >> 14) & 0x3fff) + 1);
  }
  if (fourcc == "VP8X") {
    // Flags (1), reserved (3), canvas width - 1 and height - 1 in 24 bits each.
    auto width = ReadUint(bytes, kData + 4, 3, false);
    auto height = ReadUint(bytes, kData + 7, 3, false);
    if (!width || !height) return Truncated(kWebp);
    return Sized(kWebp, int64_t{*width} + 1, int64_t{*height} + 1);
  }
  return Malformed(kWebp, "the first chunk is not VP8, VP8L or VP8X");
}

absl::StatusOr<ImageHeader> ReadTiff(absl::string_view bytes, bool big_endian) {
  constexpr ImageFormat kTiff = ImageFormat::kTiff;
  constexpr size_t kEntrySize = 12;
  auto directory = ReadUint(bytes, 4, 4, big_endian);
  if (!directory) return Truncated(kTiff);
  auto entries = ReadUint(bytes, *directory, 2, big_endian);
  if (!entries) return Truncated(kTiff);
  int64_t width = -1, height = -1;
  for (uint32_t i = 0; i < *entries; ++i) {
    const size_t entry = size_t{*directory} + 2 + kEntrySize * i;
    auto tag = ReadUint(bytes, entry, 2, big_endian);
    auto type = ReadUint(bytes, entry + 2, 2, big_endian);
    auto count = ReadUint(bytes, entry + 4, 4, big_endian);
    if (!tag || !type || !count) return Truncated(kTiff);
    if (*tag != 256 && *tag != 257) continue;
    // SHORT (3) or LONG (4), one value, stored in the entry itself.
    if ((*type != 3 && *type != 4) || *count != 1) {
      return Malformed(kTiff, "an image size that is not one SHORT or LONG");
    }
    auto value = ReadUint(bytes, entry + 8, *type == 3 ? 2 : 4, big_endian);
    if (!value) return Truncated(kTiff);
    // A tag given twice: the larger value counts, whichever one the decoder believes.
    int64_t& side = *tag == 256 ? width : height;
    side = std::max<int64_t>(side, *value);
  }
  if (width < 0 || height < 0) {
    return Malformed(kTiff, "the first directory has no ImageWidth or ImageLength");
  }
  return Sized(kTiff, width, height);
}

}  // namespace

absl::string_view ImageFormatName(ImageFormat format) {
  switch (format) {
    case ImageFormat::kPng:
      return "PNG";
    case ImageFormat::kJpeg:
      return "JPEG";
    case ImageFormat::kBmp:
      return "BMP";
    case ImageFormat::kWebp:
      return "WebP";
    case ImageFormat::kTiff:
      return "TIFF";
  }
  return "image";
}

absl::StatusOr<ImageHeader> ReadImageHeader(absl::string_view bytes) {
  auto starts = [bytes](size_t offset, absl::string_view magic) {
    return BytesAt(bytes, offset, magic.size()) == magic;
  };
  if (starts(0, absl::string_view("\x89PNG\r\n\x1a\n", 8))) return ReadPng(bytes);
  if (starts(0, "\xff\xd8\xff")) return ReadJpeg(bytes);
  if (starts(0, "BM")) return ReadBmp(bytes);
  if (starts(0, "RIFF") && starts(8, "WEBP")) return ReadWebp(bytes);
  if (starts(0, absl::string_view("II*\0", 4))) return ReadTiff(bytes, false);
  if (starts(0, absl::string_view("MM\0*", 4))) return ReadTiff(bytes, true);
  return absl::InvalidArgumentError(
      "not an image format fsc reads (PNG, JPEG, BMP, WebP or TIFF, recognised by content)");
}

std::string ImageLimitsText() {
  return absl::StrFormat(
      "Images (PNG, JPEG, BMP, WebP, TIFF) are refused, before decoding, when their header\n"
      "declares more than %d megapixels or %d pixels a side, or the file exceeds %d MiB.",
      kMaxImagePixels / 1'000'000, kMaxImageSide, kMaxImageFileBytes >> 20);
}

absl::Status CheckImageSize(const ImageHeader& header) {
  if (header.width <= 0 || header.height <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("the ", ImageFormatName(header.format),
                                                   " header declares ", header.width, "x",
                                                   header.height, " pixels"));
  }
  if (header.width > kMaxImageSide || header.height > kMaxImageSide ||
      header.width > kMaxImagePixels / header.height) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "the %s header declares %dx%d pixels (%.1f megapixels); fsc decodes images up to %d "
        "megapixels and %d pixels a side: scale the image down",
        ImageFormatName(header.format), header.width, header.height,
        static_cast<double>(header.width) * static_cast<double>(header.height) / 1e6,
        kMaxImagePixels / 1'000'000, kMaxImageSide));
  }
  return absl::OkStatus();
}

}  // namespace fsc::media
