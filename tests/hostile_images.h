// Image files that are only a header, declaring any size: what an attacker (or a broken camera)
// sends to make a decoder allocate gigabytes. For the bad-input suite and the header unit tests.
#ifndef FSC_TESTS_HOSTILE_IMAGES_H_
#define FSC_TESTS_HOSTILE_IMAGES_H_

#include <zlib.h>

#include <cstdint>
#include <string>

namespace fsc::testing {

inline void AppendBig(std::string* out, uint32_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>(value >> (8 * i)));
}

inline void AppendLittle(std::string* out, uint32_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>(value >> (8 * i)));
}

// A PNG chunk with its length and a correct CRC.
inline std::string PngChunk(const std::string& type, const std::string& data) {
  std::string chunk;
  AppendBig(&chunk, static_cast<uint32_t>(data.size()), 4);
  const std::string type_and_data = type + data;
  chunk += type_and_data;
  AppendBig(&chunk,
            static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(type_and_data.data()),
                                        static_cast<uInt>(type_and_data.size()))),
            4);
  return chunk;
}

// Signature, IHDR (8-bit RGB), the `extra` chunks (whole, e.g. from PngChunk), IEND: every CRC
// right, no pixel data.
inline std::string PngHeader(uint32_t width, uint32_t height, const std::string& extra = "") {
  std::string ihdr;
  AppendBig(&ihdr, width, 4);
  AppendBig(&ihdr, height, 4);
  ihdr += std::string("\x08\x02\x00\x00\x00", 5);  // depth 8, RGB, deflate, filter 0, no interlace
  return std::string("\x89PNG\r\n\x1a\n", 8) + PngChunk("IHDR", ihdr) + extra +
         PngChunk("IEND", "");
}

// SOI, a JFIF APP0 segment, a baseline SOF0 frame header (3 components), EOI.
inline std::string JpegHeader(uint16_t width, uint16_t height) {
  std::string jpeg("\xff\xd8", 2);
  jpeg += std::string("\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00", 18);
  jpeg += std::string("\xff\xc0\x00\x11\x08", 5);
  AppendBig(&jpeg, height, 2);
  AppendBig(&jpeg, width, 2);
  jpeg += std::string("\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01", 10);
  jpeg += std::string("\xff\xd9", 2);
  return jpeg;
}

// File header and a 40-byte BITMAPINFOHEADER for 24-bit pixels; no pixels.
inline std::string BmpHeader(int32_t width, int32_t height) {
  std::string bmp = "BM";
  AppendLittle(&bmp, 54, 4);  // file size as declared
  AppendLittle(&bmp, 0, 4);   // reserved
  AppendLittle(&bmp, 54, 4);  // pixel data offset
  AppendLittle(&bmp, 40, 4);  // DIB header size
  AppendLittle(&bmp, static_cast<uint32_t>(width), 4);
  AppendLittle(&bmp, static_cast<uint32_t>(height), 4);
  AppendLittle(&bmp, 1, 2);   // planes
  AppendLittle(&bmp, 24, 2);  // bits per pixel
  for (int i = 0; i < 6; ++i) AppendLittle(&bmp, 0, 4);
  return bmp;
}

// RIFF/WEBP with one extended-format (VP8X) chunk declaring the canvas size.
inline std::string WebpHeader(uint32_t width, uint32_t height) {
  std::string chunk = "VP8X";
  AppendLittle(&chunk, 10, 4);
  AppendLittle(&chunk, 0, 4);  // flags + reserved
  AppendLittle(&chunk, width - 1, 3);
  AppendLittle(&chunk, height - 1, 3);
  std::string webp = "RIFF";
  AppendLittle(&webp, static_cast<uint32_t>(4 + chunk.size()), 4);
  return webp + "WEBP" + chunk;
}

// Little-endian TIFF whose first directory holds ImageWidth and ImageLength (LONG).
inline std::string TiffHeader(uint32_t width, uint32_t height) {
  std::string tiff("II*\0", 4);
  AppendLittle(&tiff, 8, 4);  // first directory
  AppendLittle(&tiff, 2, 2);  // entries
  for (uint32_t tag : {256u, 257u}) {
    AppendLittle(&tiff, tag, 2);
    AppendLittle(&tiff, 4, 2);  // LONG
    AppendLittle(&tiff, 1, 4);  // one value
    AppendLittle(&tiff, tag == 256 ? width : height, 4);
  }
  AppendLittle(&tiff, 0, 4);  // no next directory
  return tiff;
}

}  // namespace fsc::testing

#endif  // FSC_TESTS_HOSTILE_IMAGES_H_
