// Aligned face PNGs that carry their own metadata: the encoded fsc.proto.FaceMetadata sits in a
// private ancillary PNG chunk ("fsCm"), which image viewers ignore and fsc reads back.
#ifndef FSC_CORE_FACE_FACE_PNG_H_
#define FSC_CORE_FACE_FACE_PNG_H_

#include <opencv2/core.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fsc::face {

// PNG-encodes `image` and inserts `metadata` (opaque bytes) as an fsCm chunk before IEND.
absl::StatusOr<std::string> EncodePngWithMetadata(const cv::Mat& image, absl::string_view metadata);

// The fsCm chunk's bytes from a PNG file's contents; NOT_FOUND when the PNG has none,
// DATA_LOSS when the file is not a well-formed PNG (bad signature, chunk or CRC).
absl::StatusOr<std::string> ReadPngMetadata(absl::string_view png_bytes);

}  // namespace fsc::face

#endif  // FSC_CORE_FACE_FACE_PNG_H_
