// Reads the frames of an extraction input: a video file, a single image, or a folder of images.
// Damage is reported, not fatal: a frame or image that fails to decode becomes a warning naming
// the file (and frame), and every frame that does decode is still delivered.
#ifndef FSC_CORE_MEDIA_FRAME_SOURCE_H_
#define FSC_CORE_MEDIA_FRAME_SOURCE_H_

#include <memory>
#include <opencv2/core.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/util/image_names.h"

namespace fsc::media {

enum class SourceKind { kVideo, kImage, kImageFolder };

struct SourceFrame {
  int64_t index = 0;  // video: frame number; folder: position in sorted order; image: 0
  std::string name;   // image file name (empty for video frames)
  cv::Mat image;      // 8-bit BGR
};

struct SourceDescription {
  std::string path;
  SourceKind kind = SourceKind::kVideo;
  int width = 0;  // of the first frame (images in a folder may differ)
  int height = 0;
  // Images: how many. Video: as the container claims, which may be a frame or so more than
  // decode (placeholders for dropped frames, duration x fps); Next() warns only when decoding
  // stops before the stream's end.
  int64_t frame_count = 0;
  double fps = 0;  // video only
};

class FrameSource {
 public:
  // Opens `path`. Errors name the path: NOT_FOUND if missing, INVALID_ARGUMENT for an empty
  // folder or a file that is neither a decodable image nor a video, or an image over the size
  // limit of image_header.h (refused from its header, before decoding). Images in a folder are
  // checked the same way when Next() reaches them: a bad one becomes a warning.
  static absl::StatusOr<std::unique_ptr<FrameSource>> Open(const std::string& path);
  virtual ~FrameSource() = default;

  virtual const SourceDescription& description() const = 0;
  // The next frame, or nullopt at the end. Frames that cannot be decoded are skipped and
  // recorded in warnings().
  virtual std::optional<SourceFrame> Next() = 0;
  // Moves forward so that the next frame returned has index >= `index` (frames before it are
  // not delivered). Video decodes and drops the skipped frames instead of seeking: container
  // seeks are not frame-exact for every codec, and a frame range must hold exactly the frames a
  // full read would give. Image lists skip without decoding. Going backwards is a no-op.
  virtual void SkipTo(int64_t index) = 0;
  // Problems met so far, each naming the file (and frame); empty when everything decoded.
  virtual const std::vector<std::string>& warnings() const = 0;
};

// True when `path` names a file with an image extension fsc reads (core/util/image_names.h).
using util::HasImageExtension;

}  // namespace fsc::media

#endif  // FSC_CORE_MEDIA_FRAME_SOURCE_H_
