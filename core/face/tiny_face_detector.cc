// Tiny Face Detector: weight loading, forward pass, YOLO grid decoding, NMS and the mapping of
// boxes back to frame pixels, mirroring face-api 1.7.15 (src/tinyYolov2, src/tinyFaceDetector).
#include "core/face/tiny_face_detector.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "core/face/nms.h"
#include "core/face/tf_ops.h"
#include "core/face/tfjs_manifest.h"
#include "core/face/tfjs_weights.h"
#include "core/util/status_macros.h"

namespace fsc::face {
namespace {

constexpr char kManifest[] = "tiny_face_detector_model-weights_manifest.json";
// face-api tinyFaceDetector/const.ts.
constexpr double kAnchors[TinyFaceNet::kNumAnchors][2] = {{1.603231, 2.094468},
                                                          {6.041143, 7.080126},
                                                          {2.882459, 3.518061},
                                                          {4.266906, 5.178857},
                                                          {9.041765, 10.66308}};
constexpr float kMeanRgb[3] = {117.001f, 114.697f, 97.404f};
// face-api leaky(): relu(x - 0.1x) + 0.1x, i.e. a leaky ReLU with this slope.
constexpr double kLeakySlope = 0.10000000149011612;

double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

}  // namespace

absl::StatusOr<std::unique_ptr<TinyFaceNet>> TinyFaceNet::Load(const std::string& manifest_path) {
  if (!std::filesystem::exists(manifest_path)) {
    return absl::NotFoundError(absl::StrCat("Tiny Face Detector weights ", manifest_path,
                                            " not found; run scripts/setup to fetch the models"));
  }
  FSC_ASSIGN_OR_RETURN(TfjsWeights w, TfjsWeights::Load(manifest_path));
  auto net = std::unique_ptr<TinyFaceNet>(new TinyFaceNet());
  try {
    auto plain = [&](const std::string& name, Layer* layer) -> absl::Status {
      FSC_ASSIGN_OR_RETURN(torch::Tensor filters, w.Get(name + "/filters"));
      FSC_ASSIGN_OR_RETURN(torch::Tensor bias, w.Get(name + "/bias", {filters.size(3)}));
      net->num_weights_ += filters.numel() + bias.numel();
      layer->weight = ToConvWeight(filters).contiguous(at::MemoryFormat::ChannelsLast);
      layer->bias = bias.contiguous();
      return absl::OkStatus();
    };
    FSC_RETURN_IF_ERROR(plain("conv0", &net->conv0_));
    int64_t channels = net->conv0_.weight.size(0);
    for (int i = 1; i <= 5; ++i) {
      const std::string p = absl::StrCat("conv", i, "/");
      FSC_ASSIGN_OR_RETURN(torch::Tensor depthwise,
                           w.Get(p + "depthwise_filter", {3, 3, channels, 1}));
      FSC_ASSIGN_OR_RETURN(torch::Tensor pointwise, w.Get(p + "pointwise_filter"));
      if (pointwise.dim() != 4 || pointwise.size(2) != channels) {
        return absl::InvalidArgumentError(absl::StrCat(
            manifest_path, ": ", p, "pointwise_filter does not take ", channels, " channels"));
      }
      const int64_t out = pointwise.size(3);
      FSC_ASSIGN_OR_RETURN(torch::Tensor bias, w.Get(p + "bias", {out}));
      net->num_weights_ += depthwise.numel() + pointwise.numel() + bias.numel();
      net->separable_.push_back(
          {ToDepthwiseWeight(depthwise).contiguous(at::MemoryFormat::ChannelsLast),
           ToConvWeight(pointwise).contiguous(at::MemoryFormat::ChannelsLast), bias.contiguous()});
      channels = out;
    }
    FSC_RETURN_IF_ERROR(plain("conv8", &net->conv8_));
    if (net->conv8_.weight.size(1) != channels || net->conv8_.weight.size(0) != 5 * kNumAnchors) {
      return absl::InvalidArgumentError(absl::StrCat(manifest_path, ": conv8 must map ", channels,
                                                     " channels to ", 5 * kNumAnchors));
    }
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("loading Tiny Face Detector from ", manifest_path, ": ", e.what()));
  }
  return net;
}

torch::Tensor TinyFaceNet::Forward(const torch::Tensor& input) const {
  c10::InferenceMode inference;
  TORCH_CHECK(input.dim() == 4 && input.size(1) == 3,
              "Tiny Face Detector expects a [B, 3, S, S] input, got ", input.sizes());
  // conv0 is "valid" (no padding): 416 -> 414.
  // Channels-last end to end: oneDNN's NHWC depthwise convs are ~10x faster than NCHW ones.
  torch::Tensor x =
      torch::conv2d(input.contiguous(at::MemoryFormat::ChannelsLast), conv0_.weight, conv0_.bias);
  torch::leaky_relu_(x, kLeakySlope);
  for (size_t i = 0; i < separable_.size(); ++i) {
    x = TfSameMaxPool2x2(x, 2);
    const Layer& l = separable_[i];
    x = torch::conv2d(x, l.depthwise, {}, torch::IntArrayRef{1, 1}, torch::IntArrayRef{1, 1},
                      torch::IntArrayRef{1, 1}, l.depthwise.size(0));
    x = torch::conv2d(x, l.weight, l.bias);
    torch::leaky_relu_(x, kLeakySlope);
  }
  x = TfSameMaxPool2x2(x, 1);
  return torch::conv2d(x, conv8_.weight, conv8_.bias);
}

std::vector<TinyFaceNet::Candidate> TinyFaceNet::DecodeGrid(const torch::Tensor& grid,
                                                            const SquareInputGeometry& geometry,
                                                            float score_threshold) {
  torch::Tensor g = grid.to(torch::kFloat32).contiguous();
  const int64_t cells = g.size(1);
  const float* data = g.data_ptr<float>();
  auto at = [&](int64_t channel, int64_t row, int64_t col) {
    return static_cast<double>(data[(channel * cells + row) * cells + col]);
  };
  // Undo the bottom/right padding: the image covers reshaped / max(reshaped) of the square.
  const double side = std::max(geometry.reshaped_width, geometry.reshaped_height);
  const double fx = side / geometry.reshaped_width;
  const double fy = side / geometry.reshaped_height;
  std::vector<Candidate> result;
  for (int64_t row = 0; row < cells; ++row) {
    for (int64_t col = 0; col < cells; ++col) {
      for (int a = 0; a < kNumAnchors; ++a) {
        const int64_t c = 5 * a;  // channels per anchor: x, y, w, h, score
        const double score = Sigmoid(at(c + 4, row, col));
        if (!(score > score_threshold)) continue;
        const double cx = (col + Sigmoid(at(c, row, col))) / cells * fx;
        const double cy = (row + Sigmoid(at(c + 1, row, col))) / cells * fy;
        const double w = std::exp(at(c + 2, row, col)) * kAnchors[a][0] / cells * fx;
        const double h = std::exp(at(c + 3, row, col)) * kAnchors[a][1] / cells * fy;
        Candidate cand;
        cand.relative_box =
            cv::Rect2f(static_cast<float>(cx - w / 2), static_cast<float>(cy - h / 2),
                       static_cast<float>(w), static_cast<float>(h));
        cand.score = static_cast<float>(score);
        result.push_back(cand);
      }
    }
  }
  return result;
}

absl::StatusOr<std::unique_ptr<TinyFaceDetector>> TinyFaceDetector::Create(
    const DetectorOptions& options) {
  const int size = options.input_size == 0 ? TinyFaceNet::kDefaultInputSize : options.input_size;
  if (size <= 0 || size % 32 != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Tiny Face Detector input size must be a positive multiple of 32 (face-api: 416); got ",
        options.input_size));
  }
  const std::string path = FaceApiManifestPath(options.models_dir, kManifest);
  FSC_ASSIGN_OR_RETURN(std::unique_ptr<TinyFaceNet> net, TinyFaceNet::Load(path));
  return std::unique_ptr<TinyFaceDetector>(new TinyFaceDetector(options, std::move(net), size));
}

absl::StatusOr<torch::Tensor> TinyFaceDetector::Preprocess(const cv::Mat& image,
                                                           SquareInputGeometry* geometry) const {
  InputNormalization norm;
  norm.mean_rgb = {kMeanRgb[0], kMeanRgb[1], kMeanRgb[2]};
  norm.scale = 1.0f / 255.0f;
  return ToSquareInputTensor(image, input_size_, norm, geometry);
}

absl::StatusOr<std::vector<Detection>> TinyFaceDetector::Detect(const cv::Mat& image) {
  SquareInputGeometry geo;
  FSC_ASSIGN_OR_RETURN(torch::Tensor input, Preprocess(image, &geo));
  std::vector<TinyFaceNet::Candidate> candidates;
  try {
    candidates = TinyFaceNet::DecodeGrid(net_->Forward(input)[0], geo, options_.min_score);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("Tiny Face Detector forward pass failed: ", e.what()));
  }
  std::vector<cv::Rect2f> boxes;
  std::vector<float> scores;
  for (const auto& c : candidates) {
    boxes.push_back(c.relative_box);
    scores.push_back(c.score);
  }
  std::vector<int> kept = NonMaxSuppression(
      boxes, scores,
      options_.iou_threshold > 0 ? options_.iou_threshold : TinyFaceNet::kFaceApiIouThreshold,
      options_.min_score, options_.max_faces);
  std::vector<Detection> detections;
  const double w = geo.image_width;
  const double h = geo.image_height;
  for (int k : kept) {
    const cv::Rect2f& r = boxes[k];
    // Relative -> pixels (face-api ObjectDetection), then clipped to the frame.
    const double x0 = std::clamp(static_cast<double>(r.x) * w, 0.0, w);
    const double y0 = std::clamp(static_cast<double>(r.y) * h, 0.0, h);
    const double x1 = std::clamp(static_cast<double>(r.x + r.width) * w, 0.0, w);
    const double y1 = std::clamp(static_cast<double>(r.y + r.height) * h, 0.0, h);
    Detection d;
    d.box = cv::Rect2f(static_cast<float>(x0), static_cast<float>(y0), static_cast<float>(x1 - x0),
                       static_cast<float>(y1 - y0));
    d.score = scores[k];
    detections.push_back(std::move(d));
  }
  return detections;
}

absl::StatusOr<std::unique_ptr<FaceDetector>> NewTinyFaceDetector(const DetectorOptions& options) {
  FSC_ASSIGN_OR_RETURN(std::unique_ptr<TinyFaceDetector> detector,
                       TinyFaceDetector::Create(options));
  return std::unique_ptr<FaceDetector>(std::move(detector));
}

}  // namespace fsc::face
