// The one way fsc turns image bytes from outside into pixels: the declared size is checked
// against the documented limit (image_header.h) before OpenCV decodes anything, and decoding never
// throws. Extraction inputs, --filter photos, face PNGs, masks stored in alignments files and
// `fsc verify` all read images through here.
#ifndef FSC_CORE_MEDIA_IMAGE_READER_H_
#define FSC_CORE_MEDIA_IMAGE_READER_H_

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fsc::media {

// The whole image file; NOT_FOUND or an I/O error naming the path, INVALID_ARGUMENT for a file
// larger than kMaxImageFileBytes (read before anything is allocated for it).
absl::StatusOr<std::string> ReadImageFile(const std::string& path);

// Decodes `bytes` (a PNG, JPEG, BMP, WebP or TIFF file's contents) with cv::imdecode `flags`.
// Errors start with `what` (a path, "--filter FILE") and say what failed: INVALID_ARGUMENT for
// another format or an image over the size limit, DATA_LOSS for a malformed header or pixel data
// that does not decode.
absl::StatusOr<cv::Mat> DecodeImage(absl::string_view bytes, int flags, absl::string_view what);

// ReadImageFile + DecodeImage, errors naming `path`.
absl::StatusOr<cv::Mat> ReadImage(const std::string& path, int flags = cv::IMREAD_COLOR);

}  // namespace fsc::media

#endif  // FSC_CORE_MEDIA_IMAGE_READER_H_
