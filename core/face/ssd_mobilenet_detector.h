// face-api's SSD MobileNetV1 face detector ("ssd", fsc's default), rebuilt in LibTorch from the
// TF.js weights models/face-api/model/ssd_mobilenetv1_model-weights_manifest.json.
//
// Network (face-api src/ssdMobilenetv1): input RGB scaled to -1..1; MobileNetV1 (a 3x3 stride-2
// conv, then 13 depthwise-separable pairs, depthwise batch norm folded into the weights here,
// ReLU6 everywhere); 8 extra pointwise/3x3 layers; six box predictors (on conv 11, conv 13 and
// extra layers 1, 3, 5, 7) giving 5118 anchors at 512 px; boxes decoded against the anchors
// stored in `Output/extra_dim` (variances 10, 10, 5, 5); face score = sigmoid(class 1).
// Detection (SsdMobilenetv1.locateFaces): the frame is zero-padded at the bottom/right to a
// square and resized to 512; NMS with IoU 0.5, score > min_score, at most max_faces.
//
// Other input sizes (DetectorOptions::input_size, a multiple of 32) run the same weights on a
// smaller grid, with anchors regenerated from the stored ones: centres at (i + 0.5) / grid (this
// reproduces `Output/extra_dim` at 512) and each layer's box sizes kept in *pixels*, i.e. scaled
// by 512 / input_size in the normalised frame, because a conv layer responds to faces of a given
// pixel size whatever the input size (keeping them normalised shrinks every box at small sizes).
#ifndef FSC_CORE_FACE_SSD_MOBILENET_DETECTOR_H_
#define FSC_CORE_FACE_SSD_MOBILENET_DETECTOR_H_

#include <torch/torch.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/face/detector.h"
#include "core/face/image_tensor.h"

namespace fsc::face {

class SsdMobilenetNet {
 public:
  static constexpr int kDefaultInputSize = 512;

  // Loads the manifest; NOT_FOUND (naming the file, pointing at scripts/setup) when it is missing.
  static absl::StatusOr<std::unique_ptr<SsdMobilenetNet>> Load(const std::string& manifest_path);

  struct Output {
    torch::Tensor box_encodings;  // [B, N, 4] raw predictor output (ty, tx, th, tw)
    torch::Tensor class_logits;   // [B, N, 3] raw class predictor output
    torch::Tensor boxes;          // [B, N, 4] decoded (ymin, xmin, ymax, xmax), 0..1 of the input
    torch::Tensor scores;         // [B, N] sigmoid(class_logits[..., 1])
  };
  // `input` is [B, 3, S, S] float RGB in -1..1 (S a multiple of 32; 512 = face-api). May throw
  // c10::Error; Detect() wraps it. Runs without autograd.
  Output Forward(const torch::Tensor& input) const;

  // Anchors (ymin, xmin, ymax, xmax) for an input of `input_size` px whose six predictor feature
  // maps have sides `grids` (e.g. {32, 16, 8, 4, 2, 1} at 512).
  torch::Tensor AnchorsForInput(int64_t input_size, const std::vector<int64_t>& grids) const;
  // The anchors as stored in the weights, [5118, 4].
  const torch::Tensor& stored_anchors() const { return stored_anchors_; }
  // Number of weight values read from the manifest (batch-norm statistics and anchors included).
  int64_t num_weights() const { return num_weights_; }

 private:
  struct Conv {
    torch::Tensor weight;  // OIHW
    torch::Tensor bias;
    int64_t stride = 1;
    int64_t groups = 1;
  };
  struct Predictor {
    Conv box;
    Conv cls;
    int anchors_per_cell = 0;
  };
  torch::Tensor Apply(const Conv& conv, const torch::Tensor& x, bool relu6) const;
  const torch::Tensor& AnchorsFor(int64_t input_size, const std::vector<int64_t>& grids) const;

  std::vector<Conv> backbone_;  // conv_0, then depthwise/pointwise for pairs 1..13
  std::vector<Conv> extra_;     // prediction layer conv_0..conv_7
  std::vector<Predictor> predictors_;
  torch::Tensor stored_anchors_;
  // Per predictor layer: the anchor (height, width) of each box type, [anchors_per_cell, 2].
  std::vector<torch::Tensor> anchor_sizes_;
  int64_t num_weights_ = 0;

  mutable std::mutex anchors_mu_;
  mutable std::map<std::vector<int64_t>, torch::Tensor> anchors_cache_;  // key: grids + size
};

class SsdMobilenetDetector : public FaceDetector {
 public:
  // Loads options.models_dir/face-api/model/ssd_mobilenetv1_model-weights_manifest.json.
  // INVALID_ARGUMENT when options.input_size is not 0 or a positive multiple of 32.
  static absl::StatusOr<std::unique_ptr<SsdMobilenetDetector>> Create(
      const DetectorOptions& options);

  absl::StatusOr<std::vector<Detection>> Detect(const cv::Mat& image) override;
  std::string name() const override { return "ssd"; }

  // The normalised network input for `image`, as Detect() builds it.
  absl::StatusOr<torch::Tensor> Preprocess(const cv::Mat& image,
                                           SquareInputGeometry* geometry) const;
  int input_size() const { return input_size_; }
  const SsdMobilenetNet& net() const { return *net_; }

 private:
  SsdMobilenetDetector(const DetectorOptions& options, std::unique_ptr<SsdMobilenetNet> net,
                       int input_size)
      : options_(options), net_(std::move(net)), input_size_(input_size) {}

  DetectorOptions options_;
  std::unique_ptr<SsdMobilenetNet> net_;
  int input_size_;
};

}  // namespace fsc::face

#endif  // FSC_CORE_FACE_SSD_MOBILENET_DETECTOR_H_
