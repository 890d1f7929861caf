// face-api's face recognition net in LibTorch: the network (RecognitionNetwork), the
// landmark-aligned face box it is fed, and the image-level RecognitionNet.
#include "core/face/recognition_net.h"

#include <cmath>
#include <exception>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/face/faceapi_face_input.h"
#include "core/face/recognition_net_module.h"
#include "core/face/tfjs_manifest.h"
#include "core/face/tfjs_weights.h"
#include "core/util/status_macros.h"

namespace fsc::face {
namespace {

constexpr int kDescriptorSize = 128;

// face-api's layer list after the stem: (name, output channels, is a down-sampling layer).
struct LayerSpec {
  const char* name;
  int64_t channels;
  bool down;
};
constexpr LayerSpec kLayers[] = {
    {"conv32_1", 32, false},   {"conv32_2", 32, false},         {"conv32_3", 32, false},
    {"conv64_down", 64, true}, {"conv64_1", 64, false},         {"conv64_2", 64, false},
    {"conv64_3", 64, false},   {"conv128_down", 128, true},     {"conv128_1", 128, false},
    {"conv128_2", 128, false}, {"conv256_down", 256, true},     {"conv256_1", 256, false},
    {"conv256_2", 256, false}, {"conv256_down_out", 256, true},
};

}  // namespace

absl::StatusOr<RecognitionNetwork::ConvLayer> RecognitionNetwork::LoadConv(
    const TfjsWeights& weights, const std::string& prefix, int64_t kernel, int64_t in,
    int64_t out) {
  FSC_ASSIGN_OR_RETURN(torch::Tensor filters,
                       weights.Get(prefix + "/conv/filters", {kernel, kernel, in, out}));
  FSC_ASSIGN_OR_RETURN(torch::Tensor bias, weights.Get(prefix + "/conv/bias", {out}));
  FSC_ASSIGN_OR_RETURN(torch::Tensor scale, weights.Get(prefix + "/scale/weights", {out}));
  FSC_ASSIGN_OR_RETURN(torch::Tensor shift, weights.Get(prefix + "/scale/biases", {out}));
  // (conv(x, W) + b) * s + t == conv(x, W * s) + (b * s + t): one conv instead of three ops.
  ConvLayer layer;
  layer.weight = (ToConvWeight(filters) * scale.view({out, 1, 1, 1}))
                     .contiguous(torch::MemoryFormat::ChannelsLast);
  layer.bias = bias * scale + shift;
  return layer;
}

absl::StatusOr<RecognitionNetwork> RecognitionNetwork::FromWeights(const TfjsWeights& weights) {
  RecognitionNetwork net;
  FSC_ASSIGN_OR_RETURN(net.stem_, LoadConv(weights, "conv32_down", 7, 3, 32));
  int64_t in = 32;
  for (const LayerSpec& spec : kLayers) {
    Residual layer;
    layer.down = spec.down;
    FSC_ASSIGN_OR_RETURN(
        layer.conv1, LoadConv(weights, absl::StrCat(spec.name, "/conv1"), 3, in, spec.channels));
    FSC_ASSIGN_OR_RETURN(layer.conv2, LoadConv(weights, absl::StrCat(spec.name, "/conv2"), 3,
                                               spec.channels, spec.channels));
    net.layers_.push_back(std::move(layer));
    in = spec.channels;
  }
  FSC_ASSIGN_OR_RETURN(net.fc_, weights.Get("fc", {256, kDescriptorSize}));
  return net;
}

torch::Tensor RecognitionNetwork::ResidualForward(const torch::Tensor& x, const Residual& layer) {
  // 3x3 "same" with stride 1 is a symmetric 1-pixel padding; the down conv is "valid".
  torch::Tensor out =
      torch::conv2d(x, layer.conv1.weight, layer.conv1.bias, layer.down ? 2 : 1, layer.down ? 0 : 1)
          .relu_();
  out = torch::conv2d(out, layer.conv2.weight, layer.conv2.bias, 1, 1);
  if (!layer.down) return out.add_(x).relu_();
  torch::Tensor pooled = torch::avg_pool2d(x, 2, 2);
  if (pooled.size(2) != out.size(2) || pooled.size(3) != out.size(3)) {
    // face-api appends exactly one zero row (bottom) and column (right) to the conv branch.
    out = torch::constant_pad_nd(out, {0, 1, 0, 1}, 0);
  }
  if (pooled.size(1) != out.size(1)) pooled = torch::cat({pooled, torch::zeros_like(pooled)}, 1);
  return pooled.add_(out).relu_();
}

torch::Tensor RecognitionNetwork::Forward(const torch::Tensor& input) const {
  torch::Tensor x = torch::conv2d(input.contiguous(torch::MemoryFormat::ChannelsLast), stem_.weight,
                                  stem_.bias, /*stride=*/{2, 2})
                        .relu_();
  x = torch::max_pool2d(x, 3, 2);
  for (const Residual& layer : layers_) x = ResidualForward(x, layer);
  return torch::mm(x.mean({2, 3}), fc_);
}

cv::Rect2d AlignedFaceBox(const Landmarks& landmarks) {
  // FaceLandmarks68.getRefPointsForAlignment: centres of the left eye, right eye and mouth.
  auto center = [&](int begin, int end) {
    double x = 0, y = 0;
    for (int i = begin; i < end; ++i) {
      x += landmarks[i].x;
      y += landmarks[i].y;
    }
    return cv::Point2d(x / (end - begin), y / (end - begin));
  };
  const cv::Point2d left_eye = center(36, 42);
  const cv::Point2d right_eye = center(42, 48);
  const cv::Point2d mouth = center(48, 68);
  const double eye_to_mouth = (cv::norm(mouth - left_eye) + cv::norm(mouth - right_eye)) / 2;
  const double size = std::floor(eye_to_mouth / 0.45);
  const double ref_x = (left_eye.x + right_eye.x + mouth.x) / 3;
  const double ref_y = (left_eye.y + right_eye.y + mouth.y) / 3;
  const double x = std::floor(std::max(0.0, ref_x - 0.5 * size));
  const double y = std::floor(std::max(0.0, ref_y - 0.43 * size));
  return cv::Rect2d(x, y, size, size);
}

namespace {

class RecognitionNetImpl : public RecognitionNet {
 public:
  explicit RecognitionNetImpl(RecognitionNetwork net) : net_(std::move(net)) {}

  absl::StatusOr<std::vector<Descriptor>> Describe(
      const cv::Mat& image, const std::vector<Landmarks>& landmarks) override;

 private:
  RecognitionNetwork net_;
};

absl::StatusOr<std::vector<Descriptor>> RecognitionNetImpl::Describe(
    const cv::Mat& image, const std::vector<Landmarks>& landmarks) {
  FSC_ASSIGN_OR_RETURN(const cv::Mat bgr, FaceApiBgr(image, "recognition net"));
  if (landmarks.empty()) return std::vector<Descriptor>{};

  const int64_t n = static_cast<int64_t>(landmarks.size());
  std::vector<FaceApiCrop> crops(n);
  for (int64_t i = 0; i < n; ++i) {
    if (landmarks[i].size() != 68) {
      return absl::InvalidArgumentError(absl::StrCat(
          "recognition net: face ", i, " has ", landmarks[i].size(), " landmarks; 68 are needed"));
    }
    for (const cv::Point2f& p : landmarks[i]) {
      if (!std::isfinite(p.x) || !std::isfinite(p.y)) {
        return absl::InvalidArgumentError(
            absl::StrCat("recognition net: face ", i, " has a non-finite landmark"));
      }
    }
    const cv::Rect2d box = AlignedFaceBox(landmarks[i]);
    crops[i] = ClipAtImageBorders(box.x, box.y, box.width, box.height, bgr.cols, bgr.rows);
    if (crops[i].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("recognition net: the aligned box of face ", i, " (", box.x, ",", box.y, " ",
                       box.width, "x", box.height, ") covers no pixel of the ", bgr.cols, "x",
                       bgr.rows, " image; are the landmarks in this image's pixels?"));
    }
  }

  torch::Tensor output;
  try {
    torch::NoGradGuard no_grad;
    constexpr int64_t kSize = kRecognitionInputSize;
    // Written as NHWC, seen as a channels-last NCHW tensor.
    torch::Tensor input = torch::empty({n, kSize, kSize, 3}, torch::kFloat32).permute({0, 3, 1, 2});
    float* data = input.data_ptr<float>();
    for (int64_t i = 0; i < n; ++i) {
      WriteFaceApiInput(bgr, crops[i], kSize, data + i * 3 * kSize * kSize);
    }
    output = net_.Forward(input).contiguous();
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("recognition net: LibTorch failed: ", e.what()));
  }
  const float* out = output.data_ptr<float>();
  std::vector<Descriptor> result(n);
  for (int64_t i = 0; i < n; ++i) {
    result[i].assign(out + i * kDescriptorSize, out + (i + 1) * kDescriptorSize);
  }
  return result;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RecognitionNet>> RecognitionNet::Load(
    const std::string& models_dir) {
  const std::string manifest =
      FaceApiManifestPath(models_dir, "face_recognition_model-weights_manifest.json");
  try {
    FSC_ASSIGN_OR_RETURN(TfjsWeights weights, TfjsWeights::Load(manifest));
    FSC_ASSIGN_OR_RETURN(RecognitionNetwork net, RecognitionNetwork::FromWeights(weights));
    return std::unique_ptr<RecognitionNet>(new RecognitionNetImpl(std::move(net)));
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("recognition net: loading ", manifest, " failed in LibTorch: ", e.what()));
  }
}

float DescriptorDistance(const Descriptor& a, const Descriptor& b) {
  // Euclidean distance, as face-api's euclideanDistance; infinitely far when the sizes differ.
  if (a.size() != b.size()) return std::numeric_limits<float>::infinity();
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = static_cast<double>(a[i]) - b[i];
    sum += d * d;
  }
  return static_cast<float>(std::sqrt(sum));
}

}  // namespace fsc::face
