// Checked image decoding: header and size limit first, then OpenCV inside a try block.
#include "core/media/image_reader.h"

#include <filesystem>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/media/image_header.h"
#include "core/util/file_io.h"

namespace fsc::media {

absl::StatusOr<std::string> ReadImageFile(const std::string& path) {
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (!ec && size > static_cast<uintmax_t>(kMaxImageFileBytes)) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": ", size, " bytes; fsc reads image files up to ", kMaxImageFileBytes >> 20,
        " MiB (and ", kMaxImagePixels / 1'000'000, " megapixels): scale the image down"));
  }
  return util::ReadFile(path);
}

absl::StatusOr<cv::Mat> DecodeImage(absl::string_view bytes, int flags, absl::string_view what) {
  if (bytes.size() > static_cast<size_t>(kMaxImageFileBytes)) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", bytes.size(),
                                                   " bytes; fsc decodes images up to ",
                                                   kMaxImageFileBytes >> 20, " MiB"));
  }
  absl::StatusOr<ImageHeader> header = ReadImageHeader(bytes);
  if (!header.ok()) {
    return absl::Status(header.status().code(),
                        absl::StrCat(what, ": ", header.status().message()));
  }
  absl::Status size = CheckImageSize(*header);
  if (!size.ok()) return absl::Status(size.code(), absl::StrCat(what, ": ", size.message()));
  cv::Mat image;
  std::string failure;
  try {
    // imdecode does not write through its input; the Mat only views the bytes.
    const cv::Mat buffer(1, static_cast<int>(bytes.size()), CV_8U, const_cast<char*>(bytes.data()));
    image = cv::imdecode(buffer, flags);
  } catch (const cv::Exception& e) {
    failure = e.err;
  }
  if (image.empty()) {
    return absl::DataLossError(
        absl::StrCat(what, ": the ", ImageFormatName(header->format),
                     " pixel data cannot be decoded (corrupt or truncated file",
                     failure.empty() ? "" : ": ", failure, ")"));
  }
  return image;
}

absl::StatusOr<cv::Mat> ReadImage(const std::string& path, int flags) {
  absl::StatusOr<std::string> bytes = ReadImageFile(path);
  if (!bytes.ok()) return bytes.status();
  return DecodeImage(*bytes, flags, path);
}

}  // namespace fsc::media
