// Aligned-face PNGs with embedded metadata: OpenCV encodes the pixels, then an "fsCm" chunk is
// spliced in before IEND. Reading walks every chunk and checks its CRC, so a damaged face file is
// reported instead of yielding wrong metadata.
//
// PNG layout (ISO/IEC 15948): an 8-byte signature, then chunks of
//   4-byte big-endian data length | 4-byte type | data | 4-byte CRC-32 of type and data,
// ending with IEND. "fsCm" is ancillary (lower-case 1st letter: decoders may skip it), private
// (upper-case 2nd), and safe to copy (lower-case 4th) by editors that don't understand it.
#include "core/face/face_png.h"

#include <zlib.h>

#include <cstdint>
#include <opencv2/imgcodecs.hpp>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace fsc::face {
namespace {

constexpr char kSignature[8] = {'\x89', 'P', 'N', 'G', '\r', '\n', '\x1a', '\n'};
constexpr absl::string_view kMetadataType = "fsCm";
constexpr uint32_t kMaxChunkLength = 0x7fffffffu;  // the PNG limit, 2^31 - 1
constexpr size_t kChunkOverhead = 12;              // length + type + CRC

uint32_t ReadBigEndian(const char* p) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | uint32_t{b[3]};
}

void AppendBigEndian(uint32_t value, std::string& out) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(value >> shift));
}

// CRC-32 of a chunk's type and data, as PNG defines it (the same polynomial as zlib's crc32).
uint32_t ChunkCrc(absl::string_view type_and_data) {
  // zlib's crc32 takes a uInt length; chunks are at most 2^31 - 1 + 4 bytes, which fits.
  return static_cast<uint32_t>(crc32(crc32(0L, Z_NULL, 0),
                                     reinterpret_cast<const Bytef*>(type_and_data.data()),
                                     static_cast<uInt>(type_and_data.size())));
}

bool IsChunkType(absl::string_view type) {
  for (char c : type) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return false;
  }
  return true;
}

struct Chunk {
  size_t offset;  // of the length field
  absl::string_view type;
  absl::string_view data;
};

// Visits every chunk of `png` after checking the signature, each chunk's framing and CRC, and
// that the file ends with IEND. `visit` sees each chunk in order, IEND included.
template <typename Visit>
absl::Status WalkChunks(absl::string_view png, Visit visit) {
  if (png.size() < sizeof(kSignature) ||
      png.substr(0, sizeof(kSignature)) != absl::string_view(kSignature, sizeof(kSignature))) {
    return absl::DataLossError("not a PNG file: the 8-byte PNG signature is missing");
  }
  size_t offset = sizeof(kSignature);
  bool first = true;
  while (true) {
    if (png.size() - offset < kChunkOverhead) {
      return absl::DataLossError(absl::StrCat(
          "PNG truncated at byte ", offset, " of ", png.size(),
          ": the file ends before its IEND chunk; the face file is incomplete, re-extract it"));
    }
    const uint32_t length = ReadBigEndian(png.data() + offset);
    const absl::string_view type = png.substr(offset + 4, 4);
    if (length > kMaxChunkLength || !IsChunkType(type)) {
      return absl::DataLossError(absl::StrCat("PNG chunk at byte ", offset,
                                              " has an invalid length or type; the file is "
                                              "corrupt, re-extract the face"));
    }
    if (png.size() - offset - kChunkOverhead < length) {
      return absl::DataLossError(absl::StrCat(
          "PNG truncated: chunk ", type, " at byte ", offset, " declares ", length,
          " data bytes but the file ends first; the face file is incomplete, re-extract it"));
    }
    if (first && type != "IHDR") {
      return absl::DataLossError(
          absl::StrCat("PNG starts with chunk ", type, " instead of IHDR; the file is corrupt"));
    }
    first = false;
    const absl::string_view type_and_data = png.substr(offset + 4, 4 + length);
    const uint32_t stored_crc = ReadBigEndian(png.data() + offset + 8 + length);
    if (ChunkCrc(type_and_data) != stored_crc) {
      return absl::DataLossError(absl::StrCat("PNG chunk ", type, " at byte ", offset,
                                              " fails its CRC check; the file is corrupt, "
                                              "re-extract the face"));
    }
    visit(Chunk{offset, type, type_and_data.substr(4)});
    offset += kChunkOverhead + length;
    if (type == "IEND") return absl::OkStatus();
  }
}

}  // namespace

absl::StatusOr<std::string> EncodePngWithMetadata(const cv::Mat& image,
                                                  absl::string_view metadata) {
  if (image.empty()) return absl::InvalidArgumentError("EncodePngWithMetadata: image is empty");
  if (metadata.size() > kMaxChunkLength) {
    return absl::InvalidArgumentError(absl::StrCat("EncodePngWithMetadata: ", metadata.size(),
                                                   " metadata bytes exceed a PNG chunk's limit"));
  }
  // OpenCV would quietly convert other depths to 8 bits; a face file must keep its pixels.
  if ((image.depth() != CV_8U && image.depth() != CV_16U) ||
      (image.channels() != 1 && image.channels() != 3 && image.channels() != 4)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "EncodePngWithMetadata: PNG holds 8 or 16-bit grey, BGR or BGRA pixels; got depth ",
        image.depth(), " with ", image.channels(), " channels"));
  }
  std::vector<uchar> encoded;
  try {
    if (!cv::imencode(".png", image, encoded)) {
      return absl::InvalidArgumentError("EncodePngWithMetadata: OpenCV could not encode the image");
    }
  } catch (const cv::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(
        "EncodePngWithMetadata: cannot PNG-encode a ", image.cols, "x", image.rows, " image with ",
        image.channels(), " channels of depth ", image.depth(), ": ", e.what()));
  }
  const absl::string_view png(reinterpret_cast<const char*>(encoded.data()), encoded.size());
  size_t iend = 0;
  absl::Status walked = WalkChunks(png, [&](const Chunk& chunk) {
    if (chunk.type == "IEND") iend = chunk.offset;
  });
  if (!walked.ok()) {
    return absl::InternalError(
        absl::StrCat("EncodePngWithMetadata: OpenCV produced a malformed PNG: ", walked.message()));
  }

  std::string chunk;
  chunk.reserve(kChunkOverhead + metadata.size());
  AppendBigEndian(static_cast<uint32_t>(metadata.size()), chunk);
  chunk.append(kMetadataType.data(), kMetadataType.size());
  chunk.append(metadata.data(), metadata.size());
  AppendBigEndian(ChunkCrc(absl::string_view(chunk).substr(4)), chunk);

  std::string out;
  out.reserve(png.size() + chunk.size());
  out.append(png.data(), iend);
  out += chunk;
  out.append(png.data() + iend, png.size() - iend);
  return out;
}

absl::StatusOr<std::string> ReadPngMetadata(absl::string_view png_bytes) {
  bool found = false;
  absl::string_view metadata;
  absl::Status walked = WalkChunks(png_bytes, [&](const Chunk& chunk) {
    if (!found && chunk.type == kMetadataType) {
      found = true;
      metadata = chunk.data;
    }
  });
  if (!walked.ok()) return walked;
  if (!found) {
    return absl::NotFoundError(
        "the PNG has no fsc metadata (fsCm chunk); it is not a face extracted by fsc");
  }
  return std::string(metadata);
}

}  // namespace fsc::face
