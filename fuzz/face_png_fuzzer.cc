// Fuzzes the face PNG metadata reader (core/face/face_png.h, face_metadata.h): the chunk walker,
// its CRC checks, and the checks on the FaceMetadata the chunk carries. An input that starts with
// the PNG signature is read as a face file; any other input is taken as the chunk's contents and
// wrapped into a well-formed PNG first, so that mutations reach the metadata checks instead of
// failing a CRC. A chunk that reads back must survive a write/read round trip unchanged.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <opencv2/core.hpp>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "core/face/face_metadata.h"
#include "core/face/face_png.h"

namespace {

void CheckFaceFile(absl::string_view png) {
  absl::StatusOr<fsc::proto::FaceMetadata> face = fsc::face::ReadFaceMetadata(png, "face.png");
  if (face.ok()) {
    if (face->aligned_landmarks_size() != 68) __builtin_trap();
    for (const fsc::proto::Point& p : face->aligned_landmarks()) {
      if (!std::isfinite(p.x()) || !std::isfinite(p.y())) __builtin_trap();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  static const cv::Mat pixels(4, 4, CV_8UC3, cv::Scalar(10, 20, 30));
  if (!absl::StartsWith(bytes, absl::string_view("\x89PNG\r\n\x1a\n", 8))) {
    absl::StatusOr<std::string> png = fsc::face::EncodePngWithMetadata(pixels, bytes);
    if (!png.ok()) __builtin_trap();
    absl::StatusOr<std::string> again = fsc::face::ReadPngMetadata(*png);
    if (!again.ok() || *again != bytes) __builtin_trap();
    CheckFaceFile(*png);
    return 0;
  }
  CheckFaceFile(bytes);
  absl::StatusOr<std::string> chunk = fsc::face::ReadPngMetadata(bytes);
  if (!chunk.ok()) return 0;
  absl::StatusOr<std::string> png = fsc::face::EncodePngWithMetadata(pixels, *chunk);
  if (!png.ok()) __builtin_trap();
  absl::StatusOr<std::string> again = fsc::face::ReadPngMetadata(*png);
  if (!again.ok() || *again != *chunk) __builtin_trap();
  return 0;
}
