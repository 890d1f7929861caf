// face-api's Tiny Face Detector ("tiny", the fast detector), rebuilt in LibTorch from the TF.js
// weights models/face-api/model/tiny_face_detector_model-weights_manifest.json.
//
// Network (face-api src/tinyYolov2 with the TinyFaceDetector config): input RGB minus the mean
// [117.001, 114.697, 97.404], / 255; a 3x3 "valid" conv 3->16 with leaky ReLU (0.1); then five
// depthwise-separable 3x3 convs (16->32->...->512, padding 1, leaky ReLU) with 2x2 max pools
// ("same", stride 2, the last one stride 1); a 1x1 conv to 5 anchors x (x, y, w, h, score).
// Detection (TinyYolov2Base.detect): the frame is zero-padded at the bottom/right to a square,
// resized to input_size (default 416, a multiple of 32); cells decoded YOLO-style
// (sigmoid offsets, exp sizes times the anchors); score = sigmoid > min_score; NMS. face-api
// uses IoU 0.4 for this detector; fsc takes DetectorOptions::iou_threshold (set 0.4 to match).
#ifndef FSC_CORE_FACE_TINY_FACE_DETECTOR_H_
#define FSC_CORE_FACE_TINY_FACE_DETECTOR_H_

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/face/detector.h"
#include "core/face/image_tensor.h"

namespace fsc::face {

class TinyFaceNet {
 public:
  static constexpr int kDefaultInputSize = 416;
  static constexpr int kNumAnchors = 5;
  // face-api's IOU_THRESHOLD for this detector.
  static constexpr float kFaceApiIouThreshold = 0.4f;

  // Loads the manifest; NOT_FOUND (naming the file, pointing at scripts/setup) when it is missing.
  static absl::StatusOr<std::unique_ptr<TinyFaceNet>> Load(const std::string& manifest_path);

  // `input` is [B, 3, S, S] float, already normalised ((rgb - mean) / 255). Returns the raw
  // [B, 25, G, G] grid (G = 13 at 416). May throw c10::Error; Detect() wraps it.
  torch::Tensor Forward(const torch::Tensor& input) const;

  struct Candidate {
    cv::Rect2f relative_box;  // relative to the image (face-api's ObjectDetection.relativeBox)
    float score = 0;
  };
  // face-api TinyYolov2Base.extractBoxes for one image's [25, G, G] output: every anchor whose
  // sigmoid score is > score_threshold, in (row, col, anchor) order.
  static std::vector<Candidate> DecodeGrid(const torch::Tensor& grid,
                                           const SquareInputGeometry& geometry,
                                           float score_threshold);

  // Number of weight values read from the manifest.
  int64_t num_weights() const { return num_weights_; }

 private:
  struct Layer {
    torch::Tensor depthwise;  // [C, 1, 3, 3]; undefined for the plain convs conv0 and conv8
    torch::Tensor weight;     // OIHW
    torch::Tensor bias;
  };
  Layer conv0_;
  std::vector<Layer> separable_;  // conv1..conv5
  Layer conv8_;
  int64_t num_weights_ = 0;
};

class TinyFaceDetector : public FaceDetector {
 public:
  // Loads options.models_dir/face-api/model/tiny_face_detector_model-weights_manifest.json.
  // INVALID_ARGUMENT when options.input_size is not 0 or a positive multiple of 32.
  static absl::StatusOr<std::unique_ptr<TinyFaceDetector>> Create(const DetectorOptions& options);

  absl::StatusOr<std::vector<Detection>> Detect(const cv::Mat& image) override;
  std::string name() const override { return "tiny"; }

  // The normalised network input for `image`, as Detect() builds it.
  absl::StatusOr<torch::Tensor> Preprocess(const cv::Mat& image,
                                           SquareInputGeometry* geometry) const;
  int input_size() const { return input_size_; }
  const TinyFaceNet& net() const { return *net_; }

 private:
  TinyFaceDetector(const DetectorOptions& options, std::unique_ptr<TinyFaceNet> net, int input_size)
      : options_(options), net_(std::move(net)), input_size_(input_size) {}

  DetectorOptions options_;
  std::unique_ptr<TinyFaceNet> net_;
  int input_size_;
};

}  // namespace fsc::face

#endif  // FSC_CORE_FACE_TINY_FACE_DETECTOR_H_
