// The face detector plugin interface and its registry. A detector takes a whole frame and returns
// face boxes in that frame's pixels; `fsc extract --detector NAME` picks one by name.
#ifndef FSC_CORE_FACE_DETECTOR_H_
#define FSC_CORE_FACE_DETECTOR_H_

#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace fsc::face {

struct Detection {
  cv::Rect2f box;                      // source pixels, clipped to the image
  float score = 0;                     // confidence 0..1
  std::vector<cv::Point2f> keypoints;  // detector keypoints if it has any (BlazeFace: 6)
};

struct DetectorOptions {
  std::string models_dir = "models";  // as filled by scripts/setup
  float min_score = 0.5f;             // detections below are dropped
  int input_size = 0;                 // network input side; 0 = the detector's default
  float iou_threshold = 0.5f;         // non-maximum suppression
  int max_faces = 100;
};

class FaceDetector {
 public:
  virtual ~FaceDetector() = default;
  // `image` is 8-bit BGR (OpenCV's order). Returns detections sorted by descending score.
  virtual absl::StatusOr<std::vector<Detection>> Detect(const cv::Mat& image) = 0;
  virtual std::string name() const = 0;
};

// "ssd" (default), "tiny", "blazeface". INVALID_ARGUMENT listing the known names otherwise.
absl::StatusOr<std::unique_ptr<FaceDetector>> CreateDetector(const std::string& name,
                                                             const DetectorOptions& options);
std::vector<std::string> DetectorNames();

// The detector input size `fsc extract` uses for a source of `width` x `height` when none is
// asked for. SSD runs at 256 for frames up to 800 px on the long side: its anchors then still
// cover faces from about a tenth of the frame up, it is about 4x faster than at 512, and on the
// sample video it finds the same faces with fewer false detections. Larger images (group photos,
// where faces are small) and unknown sizes keep face-api's 512. Other detectors: 0 (their own).
int DefaultInputSize(const std::string& detector, int width, int height);

// Each detector's constructor, implemented beside its network.
absl::StatusOr<std::unique_ptr<FaceDetector>> NewSsdMobilenetDetector(const DetectorOptions&);
absl::StatusOr<std::unique_ptr<FaceDetector>> NewTinyFaceDetector(const DetectorOptions&);
absl::StatusOr<std::unique_ptr<FaceDetector>> NewBlazeFaceDetector(const DetectorOptions&);

}  // namespace fsc::face

#endif  // FSC_CORE_FACE_DETECTOR_H_
