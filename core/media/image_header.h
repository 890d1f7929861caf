// The size an image file declares, read from its header before any decoder sees the file: a PNG
// whose header claims 100000 x 100000 pixels must be refused, not handed to OpenCV (which
// allocates what the header asks for, or throws past 2^30 pixels). Pure byte parsing, no decoder
// and no OpenCV, so it can be fuzzed on its own. The formats fsc reads are PNG, JPEG, BMP, WebP
// and TIFF, recognised by their signature whatever the file's name; anything else is refused.
#ifndef FSC_CORE_MEDIA_IMAGE_HEADER_H_
#define FSC_CORE_MEDIA_IMAGE_HEADER_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fsc::media {

// The largest image fsc decodes (README, `fsc extract --help`): 100 megapixels, at most 65535
// pixels a side. A 100-megapixel BGR image takes 300 MB once decoded.
inline constexpr int64_t kMaxImagePixels = 100'000'000;
inline constexpr int64_t kMaxImageSide = 65535;
// The largest image file fsc reads into memory (an uncompressed 16-bit RGBA TIFF at the pixel
// limit is 800 MB).
inline constexpr int64_t kMaxImageFileBytes = int64_t{1} << 30;

enum class ImageFormat { kPng, kJpeg, kBmp, kWebp, kTiff };

// "PNG", "JPEG", "BMP", "WebP", "TIFF".
absl::string_view ImageFormatName(ImageFormat format);

struct ImageHeader {
  ImageFormat format = ImageFormat::kPng;
  int64_t width = 0;
  int64_t height = 0;
};

// The format and declared size of the image whose file starts with `bytes` (the whole file for
// TIFF, whose directory may sit anywhere). INVALID_ARGUMENT when the bytes are none of the
// formats above, DATA_LOSS when the header is truncated or malformed (zero width or height
// included). Messages do not name the file: callers prefix its path.
absl::StatusOr<ImageHeader> ReadImageHeader(absl::string_view bytes);

// One line for --help: the formats and the limits above.
std::string ImageLimitsText();

// INVALID_ARGUMENT saying the declared size and the limits when the image is larger than
// kMaxImagePixels or kMaxImageSide (callers prefix the path).
absl::Status CheckImageSize(const ImageHeader& header);

}  // namespace fsc::media

#endif  // FSC_CORE_MEDIA_IMAGE_HEADER_H_
