// The extraction stage: frames -> detected faces -> 68 landmarks -> aligned crops with masks, the
// way Faceswap's extract does it. FaceExtractor handles one frame at a time with one set of
// networks; RunExtraction drives a whole source over worker threads and writes the aligned face
// PNGs (metadata embedded) and the alignments file, stabilised (core/face/stabilize.h) for videos.
#ifndef FSC_CORE_FACE_EXTRACTOR_H_
#define FSC_CORE_FACE_EXTRACTOR_H_

#include <functional>
#include <memory>
#include <opencv2/core.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/face/detector.h"
#include "core/face/landmark_net.h"
#include "core/face/recognition_net.h"
#include "core/face/stabilize.h"
#include "proto/fsc.pb.h"

namespace fsc::face {

// kAuto: a video's faces are tracked and smoothed (StabilizeAlignments) once all its frames are
// extracted; images are left raw. kOff: raw landmarks, no tracks, no filled faces. kDeferred: raw
// landmarks, but ready to be tracked later (the cluster's merge task stabilises the merged file).
enum class SmoothMode { kAuto, kOff, kDeferred };

struct ExtractOptions {
  std::string detector = "ssd";
  std::string models_dir = "models";
  int detector_input_size = 0;  // 0: the detector's default
  int size = 256;               // aligned crop side in pixels
  int every_n = 1;              // process every n-th frame
  float min_size = 0;           // drop faces whose box is smaller (pixels, shorter side)
  float min_score = 0.5f;       // drop detections below this confidence
  int mask_size = 128;          // side of the stored landmark masks
  // Identity filter: keep only faces within `filter_threshold` descriptor distance of the face in
  // this image (an aligned face PNG from fsc, or any photo with one main face).
  std::string filter_path;
  float filter_threshold = 0.55f;
  // Faceswap's --re-feed: the landmark net also runs on this many copies of each detector box
  // with every edge moved by up to 5 % of the box's shorter side (a fixed pseudo-random sequence,
  // so a frame always gives the same landmarks), and the landmarks are averaged in source pixels
  // with the unmoved box's. 0: the landmark net once per face. Range [0, 32].
  int re_feed = 0;
  int threads = 1;          // worker threads, each with its own networks
  bool write_faces = true;  // write aligned PNGs (off: alignments only)
  // Frame range [frame_begin, frame_end) of the source (frame_end < 0: to the end), for a
  // cluster worker's share of a video. Frames are picked by index (index % every_n == 0), so the
  // union of the ranges' results is exactly what one run over the whole source gives. The
  // alignments file still describes the whole source (SourceInfo).
  int64_t frame_begin = 0;
  int64_t frame_end = -1;
  // Steady faces. A range (frame_begin/frame_end set) is never smoothed whatever `smooth` says:
  // tracks, gaps and shot cuts span range borders, so the cluster's merge task stabilises the
  // merged file once, which gives exactly what one local run gives.
  SmoothMode smooth = SmoothMode::kAuto;
  StabilizeOptions stabilize;
  // Polled between frames; when it returns true RunExtraction stops and returns CANCELLED
  // without writing the alignments file.
  std::function<bool()> cancelled;
};

// One face found in a frame, ready to be stored.
struct ExtractedFace {
  proto::Face face;  // box, score, landmarks, transform, masks, identity (source pixels)
  cv::Mat aligned;   // size x size BGR crop; empty when write_faces is off
  std::vector<cv::Point2f> aligned_landmarks;
};

// INVALID_ARGUMENT naming the first option out of its range (the flag, its value, the range).
// FaceExtractor::Create and RunExtraction check it first; `fsc extract` reports it as usage.
absl::Status ValidateExtractOptions(const ExtractOptions& options);

class FaceExtractor {
 public:
  // Loads the detector, the landmark net and, with a filter, the recognition net and the
  // reference descriptor. Errors name the missing model or unusable filter image.
  static absl::StatusOr<std::unique_ptr<FaceExtractor>> Create(const ExtractOptions& options);

  // All kept faces of one 8-bit BGR frame, ordered by descending detector score. A face carries
  // its descriptor (Face.identity) with a filter, and, unless smoothing is off, whenever its frame
  // holds two or more faces (what face tracks need to keep crossing people apart).
  absl::StatusOr<std::vector<ExtractedFace>> Process(const cv::Mat& image);

  // Faces dropped so far by the identity filter.
  int64_t faces_filtered() const { return faces_filtered_; }

 private:
  explicit FaceExtractor(const ExtractOptions& options) : options_(options) {}

  ExtractOptions options_;
  std::unique_ptr<FaceDetector> detector_;
  std::unique_ptr<LandmarkNet> landmarks_;
  std::unique_ptr<RecognitionNet> recognition_;
  std::optional<Descriptor> reference_;
  int64_t faces_filtered_ = 0;
};

struct ExtractReport {
  int64_t frames_read = 0;
  int64_t frames_processed = 0;
  int64_t faces_found = 0;     // detections kept after size/score checks
  int64_t faces_filtered = 0;  // dropped by the identity filter
  int64_t faces_written = 0;
  std::vector<std::string> warnings;  // undecodable frames/images, each naming the file
  std::string alignments_path;
  double seconds = 0;
  bool smoothed = false;       // StabilizeAlignments ran (a whole video with smoothing on)
  proto::Smoothing smoothing;  // its counts, when smoothed
  int64_t faces_recut = 0;     // face PNGs cut after smoothing, from its landmarks (all, filled
                               // faces included: RecutFacePngs)
  double recut_seconds = 0;
};

// Called after each processed frame with (frames done, frames expected or 0).
using ExtractProgress = std::function<void(int64_t, int64_t)>;

// Extracts every `every_n`-th frame of `input` (video, image or folder) into `output_dir`
// (aligned faces `<stem>_<frame>_<n>.png`) and writes `alignments_path` (default
// output_dir/alignments.fsa) atomically. Frames that fail to decode become warnings; everything
// that decodes is still extracted and the alignments file is still written.
//
// Every processed video frame gets its FrameHistogram in the file, faces or not (shot cuts are
// found from them). With smoothing on (see ExtractOptions::smooth) the file's landmarks,
// transforms and masks are the stabilised ones and filled faces are added, and the face PNGs are
// cut once the video is stabilised, in a second pass over the source (face_recut.h), so the
// training material follows the alignments convert is driven by; otherwise they are written as
// frames are processed.
absl::StatusOr<ExtractReport> RunExtraction(const std::string& input, const std::string& output_dir,
                                            const std::string& alignments_path,
                                            const ExtractOptions& options,
                                            const ExtractProgress& progress = nullptr);

}  // namespace fsc::face

#endif  // FSC_CORE_FACE_EXTRACTOR_H_
