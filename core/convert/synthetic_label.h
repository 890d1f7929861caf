// The metadata half of fsc's synthetic label: a tag in every video container and image file
// that `fsc convert` writes, saying the content is synthetic and naming fsc. (The other half,
// which survives re-encoding and metadata stripping, is the watermark in watermark.h.)
//
// The tag text is kSyntheticTag. In videos it goes into the container's global tags
// ("comment", "description" and a "synthetic" key, which ffmpeg writes to MP4/MKV/MOV); in PNG
// it is an iTXt chunk with keyword kSyntheticKeyword (plus a tEXt "Comment"); in JPEG a COM
// segment right after SOI.
#ifndef FSC_CORE_CONVERT_SYNTHETIC_LABEL_H_
#define FSC_CORE_CONVERT_SYNTHETIC_LABEL_H_

#include <opencv2/core.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fsc::convert {

// The text of the label; starts with "synthetic".
extern const char kSyntheticTag[];
// PNG iTXt keyword and the ffmpeg metadata key.
extern const char kSyntheticKeyword[];

// ffmpeg output options that tag a video container as synthetic, e.g.
// {"-metadata", "comment=...", "-metadata", "synthetic=...", ...}. Convert appends them to its
// ffmpeg command, after the inputs and before the output file.
std::vector<std::string> SyntheticMetadataArgs();

// Writes an image (format by extension: .png, .jpg/.jpeg, others as OpenCV writes them)
// atomically (temp + rename) with the synthetic metadata inside it (PNG iTXt/tEXt chunks; JPEG
// COM segment; other formats carry the watermark only). The pixels must already be watermarked
// by the caller. INVALID_ARGUMENT for an empty image or a format OpenCV cannot write.
absl::Status WriteLabelledImage(const std::string& path, const cv::Mat& bgr, int jpeg_quality = 95);

// Encoded-file helpers (also used by verify): insert the label into an encoded PNG/JPEG, and
// find a label in one. FindImageLabel returns the label text when the file carries one (a
// synthetic tag written by fsc or a tool that keeps it), nullopt when it does not or is not
// PNG/JPEG.
absl::StatusOr<std::string> AddLabelToPng(absl::string_view png);
absl::StatusOr<std::string> AddLabelToJpeg(absl::string_view jpeg);
std::optional<std::string> FindImageLabel(absl::string_view encoded);

// True when a metadata text (a container tag or an image chunk) is fsc's synthetic label.
bool IsSyntheticLabel(absl::string_view text);

}  // namespace fsc::convert

#endif  // FSC_CORE_CONVERT_SYNTHETIC_LABEL_H_
