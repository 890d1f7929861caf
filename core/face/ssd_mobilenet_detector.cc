// SSD MobileNetV1 face detector: weight loading, forward pass, box decoding, NMS, and the mapping
// of boxes back to frame pixels, mirroring face-api 1.7.15 (src/ssdMobilenetv1).
#include "core/face/ssd_mobilenet_detector.h"

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

constexpr char kManifest[] = "ssd_mobilenetv1_model-weights_manifest.json";
// The epsilon of MobileNetV1's batch norm (face-api mobileNetV1.ts, TF's float32 0.001).
constexpr double kBatchNormEpsilon = 0.0010000000474974513;
// Pairs whose depthwise conv has stride 2 (face-api getStridesForLayerIdx).
bool DepthwiseStride2(int pair) { return pair == 2 || pair == 4 || pair == 6 || pair == 12; }
// Predictor grids at the default 512 input: conv 11 (stride 16), conv 13 (32), then halving.
const std::vector<int64_t>& DefaultGrids() {
  static const std::vector<int64_t> grids = {32, 16, 8, 4, 2, 1};
  return grids;
}

// Pointwise/regular conv: HWIO filters + an additive offset (face-api pointwiseConvLayer).
absl::Status LoadConv(const TfjsWeights& w, const std::string& weights, const std::string& bias,
                      int64_t* count, torch::Tensor* weight_out, torch::Tensor* bias_out) {
  FSC_ASSIGN_OR_RETURN(torch::Tensor filters, w.Get(weights));
  FSC_ASSIGN_OR_RETURN(torch::Tensor offset, w.Get(bias));
  if (filters.dim() != 4 || offset.dim() != 1 || offset.size(0) != filters.size(3)) {
    return absl::InvalidArgumentError(
        absl::StrCat(w.path(), ": tensors ", weights, " and ", bias, " do not form a convolution"));
  }
  *count += filters.numel() + offset.numel();
  *weight_out = ToConvWeight(filters).contiguous(at::MemoryFormat::ChannelsLast);
  *bias_out = offset.contiguous();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<SsdMobilenetNet>> SsdMobilenetNet::Load(
    const std::string& manifest_path) {
  if (!std::filesystem::exists(manifest_path)) {
    return absl::NotFoundError(absl::StrCat("SSD MobileNetV1 face detector weights ", manifest_path,
                                            " not found; run scripts/setup to fetch the models"));
  }
  FSC_ASSIGN_OR_RETURN(TfjsWeights w, TfjsWeights::Load(manifest_path));
  auto net = std::unique_ptr<SsdMobilenetNet>(new SsdMobilenetNet());
  int64_t& count = net->num_weights_;
  try {
    {
      Conv conv0;
      conv0.stride = 2;
      FSC_RETURN_IF_ERROR(LoadConv(w, "MobilenetV1/Conv2d_0_pointwise/weights",
                                   "MobilenetV1/Conv2d_0_pointwise/convolution_bn_offset", &count,
                                   &conv0.weight, &conv0.bias));
      net->backbone_.push_back(conv0);
    }
    for (int pair = 1; pair <= 13; ++pair) {
      const std::string dw = absl::StrCat("MobilenetV1/Conv2d_", pair, "_depthwise/");
      FSC_ASSIGN_OR_RETURN(torch::Tensor filters, w.Get(dw + "depthwise_weights"));
      const int64_t channels = filters.size(2);
      FSC_ASSIGN_OR_RETURN(torch::Tensor gamma, w.Get(dw + "BatchNorm/gamma", {channels}));
      FSC_ASSIGN_OR_RETURN(torch::Tensor beta, w.Get(dw + "BatchNorm/beta", {channels}));
      FSC_ASSIGN_OR_RETURN(torch::Tensor mean, w.Get(dw + "BatchNorm/moving_mean", {channels}));
      FSC_ASSIGN_OR_RETURN(torch::Tensor var, w.Get(dw + "BatchNorm/moving_variance", {channels}));
      count += filters.numel() + 4 * channels;
      // Fold the inference-time batch norm into the depthwise conv: y = (conv - mean) * k + beta
      // with k = gamma / sqrt(var + eps) is a conv with weights * k and bias beta - mean * k.
      torch::Tensor k = gamma / torch::sqrt(var + kBatchNormEpsilon);
      Conv depthwise;
      depthwise.weight = (ToDepthwiseWeight(filters) * k.view({channels, 1, 1, 1}))
                             .contiguous(at::MemoryFormat::ChannelsLast);
      depthwise.bias = (beta - mean * k).contiguous();
      depthwise.stride = DepthwiseStride2(pair) ? 2 : 1;
      depthwise.groups = channels;
      net->backbone_.push_back(depthwise);

      const std::string pw = absl::StrCat("MobilenetV1/Conv2d_", pair, "_pointwise/");
      Conv pointwise;
      FSC_RETURN_IF_ERROR(LoadConv(w, pw + "weights", pw + "convolution_bn_offset", &count,
                                   &pointwise.weight, &pointwise.bias));
      net->backbone_.push_back(pointwise);
    }
    for (int i = 0; i < 8; ++i) {
      const std::string p = absl::StrCat("Prediction/Conv2d_", i, "_pointwise/");
      Conv conv;
      conv.stride = i % 2 == 1 ? 2 : 1;  // face-api predictionLayer: odd layers halve the grid
      FSC_RETURN_IF_ERROR(LoadConv(w, p + "weights", p + "convolution_bn_offset", &count,
                                   &conv.weight, &conv.bias));
      net->extra_.push_back(conv);
    }
    for (int k = 0; k < 6; ++k) {
      const std::string p = absl::StrCat("Prediction/BoxPredictor_", k, "/");
      Predictor pred;
      FSC_RETURN_IF_ERROR(LoadConv(w, p + "BoxEncodingPredictor/weights",
                                   p + "BoxEncodingPredictor/biases", &count, &pred.box.weight,
                                   &pred.box.bias));
      FSC_RETURN_IF_ERROR(LoadConv(w, p + "ClassPredictor/weights", p + "ClassPredictor/biases",
                                   &count, &pred.cls.weight, &pred.cls.bias));
      pred.anchors_per_cell = static_cast<int>(pred.box.weight.size(0) / 4);
      if (pred.box.weight.size(0) != 4 * pred.anchors_per_cell ||
          pred.cls.weight.size(0) != 3 * pred.anchors_per_cell) {
        return absl::InvalidArgumentError(
            absl::StrCat(manifest_path, ": box predictor ", k, " has inconsistent output sizes"));
      }
      net->predictors_.push_back(pred);
    }
    FSC_ASSIGN_OR_RETURN(torch::Tensor anchors, w.Get("Output/extra_dim"));
    count += anchors.numel();
    net->stored_anchors_ = anchors.reshape({-1, 4}).contiguous();

    // Recover each predictor layer's anchor box sizes from the stored anchors, reading the cell
    // nearest the centre of its grid (the sizes are the same in every cell).
    int64_t needed = 0;
    for (size_t k = 0; k < net->predictors_.size(); ++k) {
      needed += DefaultGrids()[k] * DefaultGrids()[k] * net->predictors_[k].anchors_per_cell;
    }
    if (needed != net->stored_anchors_.size(0)) {
      return absl::InvalidArgumentError(
          absl::StrCat(manifest_path, ": Output/extra_dim holds ", net->stored_anchors_.size(0),
                       " anchors; the 512 px predictor grids need ", needed));
    }
    int64_t offset = 0;
    for (size_t k = 0; k < net->predictors_.size(); ++k) {
      const int64_t grid = DefaultGrids()[k];
      const int64_t per_cell = net->predictors_[k].anchors_per_cell;
      const int64_t first = offset + ((grid / 2) * grid + grid / 2) * per_cell;
      torch::Tensor cell = net->stored_anchors_.slice(0, first, first + per_cell);
      net->anchor_sizes_.push_back(
          torch::stack(
              {cell.select(1, 2) - cell.select(1, 0), cell.select(1, 3) - cell.select(1, 1)}, 1)
              .to(torch::kFloat64));
      offset += grid * grid * per_cell;
    }
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("loading SSD MobileNetV1 from ", manifest_path, ": ", e.what()));
  }
  return net;
}

torch::Tensor SsdMobilenetNet::AnchorsForInput(int64_t input_size,
                                               const std::vector<int64_t>& grids) const {
  // Box sizes stay constant in input pixels (see the header).
  const double scale = static_cast<double>(kDefaultInputSize) / input_size;
  std::vector<torch::Tensor> layers;
  for (size_t k = 0; k < grids.size() && k < anchor_sizes_.size(); ++k) {
    const int64_t g = grids[k];
    // Cell centres (i + 0.5) / g, row-major over (y, x), box types innermost: TF's
    // MultipleGridAnchorGenerator layout, matching the predictors' NHWC output order.
    torch::Tensor c = (torch::arange(g, torch::kFloat64) + 0.5) / static_cast<double>(g);
    torch::Tensor cy = c.view({g, 1, 1}).expand({g, g, 1});
    torch::Tensor cx = c.view({1, g, 1}).expand({g, g, 1});
    torch::Tensor h = anchor_sizes_[k].select(1, 0).view({1, 1, -1}) * scale;
    torch::Tensor w = anchor_sizes_[k].select(1, 1).view({1, 1, -1}) * scale;
    layers.push_back(
        torch::stack({cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2}, 3).reshape({-1, 4}));
  }
  return torch::cat(layers, 0).to(torch::kFloat32);
}

const torch::Tensor& SsdMobilenetNet::AnchorsFor(int64_t input_size,
                                                 const std::vector<int64_t>& grids) const {
  if (input_size == kDefaultInputSize && grids == DefaultGrids()) {
    return stored_anchors_;  // face-api's own anchors, bit for bit
  }
  std::vector<int64_t> key = grids;
  key.push_back(input_size);
  std::lock_guard<std::mutex> lock(anchors_mu_);
  auto it = anchors_cache_.find(key);
  if (it == anchors_cache_.end()) {
    it = anchors_cache_.emplace(key, AnchorsForInput(input_size, grids)).first;
  }
  return it->second;
}

torch::Tensor SsdMobilenetNet::Apply(const Conv& conv, const torch::Tensor& x, bool relu6) const {
  torch::Tensor y = TfSameConv2d(x, conv.weight, conv.bias, conv.stride, conv.groups);
  return relu6 ? y.clamp_(0, 6) : y;
}

SsdMobilenetNet::Output SsdMobilenetNet::Forward(const torch::Tensor& input) const {
  c10::InferenceMode inference;
  TORCH_CHECK(input.dim() == 4 && input.size(1) == 3,
              "SSD MobileNetV1 expects a [B, 3, S, S] input, got ", input.sizes());
  // Channels-last end to end: oneDNN's NHWC depthwise convs are ~10x faster than NCHW ones.
  torch::Tensor x = Apply(backbone_[0], input.contiguous(at::MemoryFormat::ChannelsLast), true);
  torch::Tensor conv11;
  for (int pair = 1; pair <= 13; ++pair) {
    x = Apply(backbone_[2 * pair - 1], x, true);
    x = Apply(backbone_[2 * pair], x, true);
    if (pair == 11) conv11 = x;
  }
  std::vector<torch::Tensor> features = {conv11, x};
  torch::Tensor e = x;
  for (int i = 0; i < 8; ++i) {
    e = Apply(extra_[i], e, true);
    if (i % 2 == 1) features.push_back(e);
  }

  const int64_t batch = input.size(0);
  std::vector<torch::Tensor> box_parts, class_parts;
  std::vector<int64_t> grids;
  for (size_t k = 0; k < predictors_.size(); ++k) {
    const torch::Tensor& f = features[k];
    TORCH_CHECK(f.size(2) == f.size(3), "SSD MobileNetV1 needs a square input");
    grids.push_back(f.size(2));
    // NCHW -> NHWC then flatten: anchors ordered (y, x, box type) as in TF.
    box_parts.push_back(
        Apply(predictors_[k].box, f, false).permute({0, 2, 3, 1}).reshape({batch, -1, 4}));
    class_parts.push_back(
        Apply(predictors_[k].cls, f, false).permute({0, 2, 3, 1}).reshape({batch, -1, 3}));
  }
  Output out;
  out.box_encodings = torch::cat(box_parts, 1);
  out.class_logits = torch::cat(class_parts, 1);

  // face-api outputLayer.decodeBoxesLayer: centre offsets / 10, log sizes / 5.
  const torch::Tensor& anchors = AnchorsFor(input.size(2), grids);
  torch::Tensor a_h = anchors.select(1, 2) - anchors.select(1, 0);
  torch::Tensor a_w = anchors.select(1, 3) - anchors.select(1, 1);
  torch::Tensor a_cy = anchors.select(1, 0) + a_h / 2;
  torch::Tensor a_cx = anchors.select(1, 1) + a_w / 2;
  const torch::Tensor& enc = out.box_encodings;
  torch::Tensor half_h = torch::exp(enc.select(2, 2) / 5) * a_h / 2;
  torch::Tensor cy = enc.select(2, 0) / 10 * a_h + a_cy;
  torch::Tensor half_w = torch::exp(enc.select(2, 3) / 5) * a_w / 2;
  torch::Tensor cx = enc.select(2, 1) / 10 * a_w + a_cx;
  out.boxes = torch::stack({cy - half_h, cx - half_w, cy + half_h, cx + half_w}, 2);
  out.scores = torch::sigmoid(out.class_logits.select(2, 1));
  return out;
}

absl::StatusOr<std::unique_ptr<SsdMobilenetDetector>> SsdMobilenetDetector::Create(
    const DetectorOptions& options) {
  const int size =
      options.input_size == 0 ? SsdMobilenetNet::kDefaultInputSize : options.input_size;
  if (size <= 0 || size % 32 != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "SSD MobileNetV1 input size must be a positive multiple of 32 (face-api: 512); got ",
        options.input_size));
  }
  const std::string path = FaceApiManifestPath(options.models_dir, kManifest);
  FSC_ASSIGN_OR_RETURN(std::unique_ptr<SsdMobilenetNet> net, SsdMobilenetNet::Load(path));
  return std::unique_ptr<SsdMobilenetDetector>(
      new SsdMobilenetDetector(options, std::move(net), size));
}

absl::StatusOr<torch::Tensor> SsdMobilenetDetector::Preprocess(
    const cv::Mat& image, SquareInputGeometry* geometry) const {
  // face-api: x / 127.5 - 1.
  InputNormalization norm;
  norm.mean_rgb = {127.5f, 127.5f, 127.5f};
  norm.scale = 1.0f / 127.5f;
  return ToSquareInputTensor(image, input_size_, norm, geometry);
}

absl::StatusOr<std::vector<Detection>> SsdMobilenetDetector::Detect(const cv::Mat& image) {
  SquareInputGeometry geo;
  FSC_ASSIGN_OR_RETURN(torch::Tensor input, Preprocess(image, &geo));
  torch::Tensor boxes, scores;
  try {
    SsdMobilenetNet::Output out = net_->Forward(input);
    boxes = out.boxes[0].contiguous();
    scores = out.scores[0].contiguous();
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("SSD MobileNetV1 forward pass failed: ", e.what()));
  }
  const int64_t n = scores.size(0);
  const float* s = scores.data_ptr<float>();
  const float* b = boxes.data_ptr<float>();
  // Only candidates above the threshold enter NMS; boxes stay in the network's 0..1 frame (IoU
  // there equals face-api's, which works on the same normalised boxes).
  std::vector<int64_t> index;
  std::vector<cv::Rect2f> cand_boxes;
  std::vector<float> cand_scores;
  for (int64_t i = 0; i < n; ++i) {
    if (!(s[i] > options_.min_score)) continue;
    const float* r = b + 4 * i;
    index.push_back(i);
    cand_boxes.emplace_back(r[1], r[0], r[3] - r[1], r[2] - r[0]);
    cand_scores.push_back(s[i]);
  }
  std::vector<int> kept = NonMaxSuppression(
      cand_boxes, cand_scores, options_.iou_threshold > 0 ? options_.iou_threshold : 0.5f,
      options_.min_score, options_.max_faces);

  // face-api locateFaces: clamp to the input square, undo the bottom/right padding
  // (input_size / reshaped size), then scale the relative box by the image size.
  const double pad_x = static_cast<double>(geo.input_size) / geo.reshaped_width;
  const double pad_y = static_cast<double>(geo.input_size) / geo.reshaped_height;
  std::vector<Detection> detections;
  for (int k : kept) {
    const float* r = b + 4 * index[k];
    const double top = std::max(0.0, static_cast<double>(r[0])) * pad_y * geo.image_height;
    const double left = std::max(0.0, static_cast<double>(r[1])) * pad_x * geo.image_width;
    const double bottom = std::min(1.0, static_cast<double>(r[2])) * pad_y * geo.image_height;
    const double right = std::min(1.0, static_cast<double>(r[3])) * pad_x * geo.image_width;
    const double x0 = std::clamp(left, 0.0, static_cast<double>(geo.image_width));
    const double y0 = std::clamp(top, 0.0, static_cast<double>(geo.image_height));
    const double x1 = std::clamp(right, 0.0, static_cast<double>(geo.image_width));
    const double y1 = std::clamp(bottom, 0.0, static_cast<double>(geo.image_height));
    Detection d;
    d.box = cv::Rect2f(static_cast<float>(x0), static_cast<float>(y0), static_cast<float>(x1 - x0),
                       static_cast<float>(y1 - y0));
    d.score = cand_scores[k];
    detections.push_back(std::move(d));
  }
  return detections;
}

absl::StatusOr<std::unique_ptr<FaceDetector>> NewSsdMobilenetDetector(
    const DetectorOptions& options) {
  FSC_ASSIGN_OR_RETURN(std::unique_ptr<SsdMobilenetDetector> detector,
                       SsdMobilenetDetector::Create(options));
  return std::unique_ptr<FaceDetector>(std::move(detector));
}

}  // namespace fsc::face
