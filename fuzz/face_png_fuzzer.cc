// Fuzzes the face PNG metadata reader (core/face/face_png.h, face_metadata.h): the chunk walker,
// CRC checks, and the checks on the FaceMetadata it carries. A chunk that reads back must also
// survive a round trip through the writer unchanged.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <opencv2/core.hpp>

#include "absl/strings/string_view.h"
#include "core/face/face_metadata.h"
#include "core/face/face_png.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<fsc::proto::FaceMetadata> face = fsc::face::ReadFaceMetadata(bytes, "face.png");
  if (face.ok()) {
    if (face->aligned_landmarks_size() != 68) __builtin_trap();
    for (const fsc::proto::Point& p : face->aligned_landmarks()) {
      if (!std::isfinite(p.x()) || !std::isfinite(p.y())) __builtin_trap();
    }
  }
  absl::StatusOr<std::string> chunk = fsc::face::ReadPngMetadata(bytes);
  if (!chunk.ok()) return 0;
  const cv::Mat pixels(4, 4, CV_8UC3, cv::Scalar(10, 20, 30));
  absl::StatusOr<std::string> png = fsc::face::EncodePngWithMetadata(pixels, *chunk);
  if (!png.ok()) __builtin_trap();
  absl::StatusOr<std::string> again = fsc::face::ReadPngMetadata(*png);
  if (!again.ok() || *again != *chunk) __builtin_trap();
  return 0;
}
