// Fuzzes the image header reader that guards every decode (core/media/image_header.h) and, for
// images it lets through at a small declared size, the checked decoder itself: no input may
// crash, throw, or decode to more pixels than its header declared (else the pixel limit could be
// bypassed).
#include <cstddef>
#include <cstdint>
#include <opencv2/imgcodecs.hpp>

#include "absl/strings/string_view.h"
#include "core/media/image_header.h"
#include "core/media/image_reader.h"

namespace {

// Decoding costs time per input; one megapixel covers every code path of the decoders' set-up.
constexpr int64_t kDecodePixels = int64_t{1} << 20;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<fsc::media::ImageHeader> header = fsc::media::ReadImageHeader(bytes);
  if (!header.ok()) return 0;
  if (header->width <= 0 || header->height <= 0) __builtin_trap();
  if (!fsc::media::CheckImageSize(*header).ok()) return 0;
  if (header->width * header->height > kDecodePixels) return 0;
  absl::StatusOr<cv::Mat> image = fsc::media::DecodeImage(bytes, cv::IMREAD_COLOR, "input");
  if (!image.ok()) return 0;
  // Never more pixels than declared, else the limit could be bypassed (EXIF orientation may swap
  // a JPEG's sides; a TIFF tag given twice is declared at its largest).
  const bool within = image->cols <= header->width && image->rows <= header->height;
  const bool swapped = image->cols <= header->height && image->rows <= header->width;
  if (!within && !swapped) __builtin_trap();
  return 0;
}
