// face-api's 68-point landmark net in LibTorch: the network (LandmarkNetwork) and the image-level
// LandmarkNet that crops each box the way face-api does, builds one input tensor for all faces of
// a call, runs it and maps the outputs back to image pixels.
#include "core/face/landmark_net.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/face/faceapi_face_input.h"
#include "core/face/landmark_net_module.h"
#include "core/face/tfjs_manifest.h"
#include "core/face/tfjs_weights.h"
#include "core/util/status_macros.h"

namespace fsc::face {
namespace {

constexpr int kNumPoints = 68;
// Faces per forward pass on CPU (see Predict).
constexpr int64_t kFacesPerPass = 4;

// TF "same" padding of one spatial axis: output ceil(in / stride), the odd pixel goes after.
std::pair<int64_t, int64_t> SamePadding(int64_t in, int64_t kernel, int64_t stride) {
  const int64_t out = (in + stride - 1) / stride;
  const int64_t total = std::max<int64_t>((out - 1) * stride + kernel - in, 0);
  return {total / 2, total - total / 2};
}

// Applies TF "same" padding for a square `kernel`: symmetric padding is left to the conv itself
// (returned as `conv_padding`), asymmetric padding is done explicitly on `x`.
torch::Tensor PadSame(const torch::Tensor& x, int64_t kernel, int64_t stride,
                      int64_t* conv_padding) {
  const auto [top, bottom] = SamePadding(x.size(2), kernel, stride);
  const auto [left, right] = SamePadding(x.size(3), kernel, stride);
  if (top == bottom && left == right && top == left) {
    *conv_padding = top;
    return x;
  }
  *conv_padding = 0;
  return torch::constant_pad_nd(x, {left, right, top, bottom}, 0)
      .contiguous(torch::MemoryFormat::ChannelsLast);
}

// A conv weight (OIHW, channels-last) from an HWIO tensor, shape-checked against the architecture.
absl::StatusOr<torch::Tensor> ConvWeight(const TfjsWeights& w, const std::string& name,
                                         std::vector<int64_t> hwio) {
  FSC_ASSIGN_OR_RETURN(torch::Tensor t, w.Get(name, hwio));
  return ToConvWeight(t).contiguous(torch::MemoryFormat::ChannelsLast);
}

}  // namespace

absl::StatusOr<LandmarkNetwork> LandmarkNetwork::FromWeights(const TfjsWeights& weights) {
  LandmarkNetwork net;
  const int64_t channels[] = {32, 64, 128, 256};
  int64_t in = 3;
  for (int b = 0; b < 4; ++b) {
    const std::string prefix = absl::StrCat("dense", b, "/");
    const int64_t out = channels[b];
    DenseBlock block;
    block.first = b == 0;
    auto separable = [&](const std::string& name, int64_t c_in,
                         int64_t c_out) -> absl::StatusOr<SeparableConv> {
      SeparableConv conv;
      FSC_ASSIGN_OR_RETURN(torch::Tensor dw,
                           weights.Get(prefix + name + "/depthwise_filter", {3, 3, c_in, 1}));
      conv.depthwise = ToDepthwiseWeight(dw).contiguous(torch::MemoryFormat::ChannelsLast);
      FSC_ASSIGN_OR_RETURN(conv.pointwise, ConvWeight(weights, prefix + name + "/pointwise_filter",
                                                      {1, 1, c_in, c_out}));
      FSC_ASSIGN_OR_RETURN(conv.bias, weights.Get(prefix + name + "/bias", {c_out}));
      return conv;
    };
    if (block.first) {
      FSC_ASSIGN_OR_RETURN(block.conv0_w,
                           ConvWeight(weights, prefix + "conv0/filters", {3, 3, in, out}));
      FSC_ASSIGN_OR_RETURN(block.conv0_b, weights.Get(prefix + "conv0/bias", {out}));
    } else {
      FSC_ASSIGN_OR_RETURN(block.conv0, separable("conv0", in, out));
    }
    for (int i = 0; i < 3; ++i) {
      FSC_ASSIGN_OR_RETURN(block.convs[i], separable(absl::StrCat("conv", i + 1), out, out));
    }
    net.blocks_.push_back(std::move(block));
    in = out;
  }
  FSC_ASSIGN_OR_RETURN(net.fc_w_, weights.Get("fc/weights", {256, 2 * kNumPoints}));
  FSC_ASSIGN_OR_RETURN(net.fc_b_, weights.Get("fc/bias", {2 * kNumPoints}));
  return net;
}

torch::Tensor LandmarkNetwork::Separable(const torch::Tensor& x, const SeparableConv& conv,
                                         int stride) {
  int64_t padding = 0;
  torch::Tensor padded = PadSame(x, 3, stride, &padding);
  torch::Tensor depthwise = torch::conv2d(padded, conv.depthwise, {}, stride, padding,
                                          /*dilation=*/1, /*groups=*/x.size(1));
  return torch::conv2d(depthwise, conv.pointwise, conv.bias);
}

torch::Tensor LandmarkNetwork::Block(const torch::Tensor& x, const DenseBlock& block) {
  torch::Tensor out1;
  if (block.first) {
    int64_t padding = 0;
    torch::Tensor padded = PadSame(x, 3, 2, &padding);
    out1 = torch::conv2d(padded, block.conv0_w, block.conv0_b, 2, padding).relu_();
  } else {
    out1 = Separable(x, block.conv0, 2).relu_();
  }
  // face-api's denseBlock4: out2 = sep(out1), out3 = sep(relu(out1 + out2)),
  // out4 = sep(relu(out1 + out2 + out3)), result relu(out1 + out2 + out3 + out4). The running sum
  // is accumulated in place: these element-wise passes are memory-bound and cost as much as the
  // convolutions on CPU. (face-api adds right to left; the difference is float rounding.)
  torch::Tensor sum = out1.add_(Separable(out1, block.convs[0], 1));
  sum.add_(Separable(torch::relu(sum), block.convs[1], 1));
  sum.add_(Separable(torch::relu(sum), block.convs[2], 1));
  return sum.relu_();
}

torch::Tensor LandmarkNetwork::Forward(const torch::Tensor& input) const {
  // Channels-last (NHWC): oneDNN's depthwise convolutions are far faster in it than in NCHW (the
  // whole net ran 1.5x faster on one CPU thread).
  torch::Tensor x = input.contiguous(torch::MemoryFormat::ChannelsLast);
  for (const DenseBlock& block : blocks_) x = Block(x, block);
  // tf.avgPool(7x7, stride 2, valid) over the 7x7 map: one value per channel.
  x = torch::avg_pool2d(x, 7, 2).flatten(1);
  return torch::addmm(fc_b_, x, fc_w_);
}

namespace {

class LandmarkNetImpl : public LandmarkNet {
 public:
  explicit LandmarkNetImpl(LandmarkNetwork net) : net_(std::move(net)) {}

  absl::StatusOr<std::vector<Landmarks>> Predict(const cv::Mat& image,
                                                 const std::vector<cv::Rect2f>& boxes) override;

 private:
  LandmarkNetwork net_;
};

absl::StatusOr<std::vector<Landmarks>> LandmarkNetImpl::Predict(
    const cv::Mat& image, const std::vector<cv::Rect2f>& boxes) {
  FSC_ASSIGN_OR_RETURN(const cv::Mat bgr, FaceApiBgr(image, "landmark net"));
  if (boxes.empty()) return std::vector<Landmarks>{};

  const int64_t n = static_cast<int64_t>(boxes.size());
  std::vector<FaceApiCrop> crops(n);
  for (int64_t i = 0; i < n; ++i) {
    const cv::Rect2f& box = boxes[i];
    if (!std::isfinite(box.x) || !std::isfinite(box.y) || !std::isfinite(box.width) ||
        !std::isfinite(box.height) || box.width <= 0 || box.height <= 0) {
      return absl::InvalidArgumentError(absl::StrCat("landmark net: box ", i, " (x ", box.x, ", y ",
                                                     box.y, ", w ", box.width, ", h ", box.height,
                                                     ") is not a finite box of positive size"));
    }
    crops[i] = ClipAtImageBorders(box.x, box.y, box.width, box.height, bgr.cols, bgr.rows);
    if (crops[i].empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "landmark net: box ", i, " (x ", box.x, ", y ", box.y, ", w ", box.width, ", h ",
          box.height, ") covers no whole pixel of the ", bgr.cols, "x", bgr.rows, " image"));
    }
  }

  torch::Tensor output;
  try {
    torch::NoGradGuard no_grad;
    constexpr int64_t kSize = kLandmarkInputSize;
    // Written as NHWC, seen as a channels-last NCHW tensor: no layout copy before the network.
    torch::Tensor input = torch::empty({n, kSize, kSize, 3}, torch::kFloat32).permute({0, 3, 1, 2});
    float* data = input.data_ptr<float>();
    for (int64_t i = 0; i < n; ++i) {
      WriteFaceApiInput(bgr, crops[i], kSize, data + i * 3 * kSize * kSize);
    }
    // One input tensor for all faces, run in slices of a few faces: on CPU the activations of a
    // few faces stay in cache, while a batch of 8 at once measured ~1.5x slower per face.
    output = torch::empty({n, 2 * kNumPoints}, torch::kFloat32);
    for (int64_t begin = 0; begin < n; begin += kFacesPerPass) {
      const int64_t end = std::min(n, begin + kFacesPerPass);
      output.slice(0, begin, end).copy_(net_.Forward(input.slice(0, begin, end)));
    }
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("landmark net: LibTorch failed: ", e.what()));
  }

  // face-api's FaceLandmark68NetBase.postProcess (float32 tensor maths) followed by FaceLandmarks
  // scaling to the crop and shiftBy(box.x, box.y) (double maths). Note face-api shifts by the
  // unfloored box corner although it cropped from the floored one; fsc keeps that sub-pixel
  // convention to reproduce face-api's landmarks, but for a box hanging over the left/top edge it
  // shifts by the crop's corner 0 (face-api would shift by the negative corner, off the image).
  const float* out = output.data_ptr<float>();
  std::vector<Landmarks> result(n);
  for (int64_t i = 0; i < n; ++i) {
    const double w = crops[i].width;
    const double h = crops[i].height;
    const double scale = kLandmarkInputSize / std::max(w, h);
    const float scaled_w = static_cast<float>(w * scale);
    const float scaled_h = static_cast<float>(h * scale);
    const float pad_x = w < h ? static_cast<float>(std::abs(w * scale - h * scale) / 2) : 0.0f;
    const float pad_y = h < w ? static_cast<float>(std::abs(w * scale - h * scale) / 2) : 0.0f;
    const double shift_x = std::max<double>(boxes[i].x, 0.0);
    const double shift_y = std::max<double>(boxes[i].y, 0.0);
    const float* o = out + i * 2 * kNumPoints;
    result[i].resize(kNumPoints);
    for (int p = 0; p < kNumPoints; ++p) {
      const float rel_x = (o[2 * p] * static_cast<float>(kLandmarkInputSize) - pad_x) / scaled_w;
      const float rel_y =
          (o[2 * p + 1] * static_cast<float>(kLandmarkInputSize) - pad_y) / scaled_h;
      result[i][p] = cv::Point2f(static_cast<float>(rel_x * w + shift_x),
                                 static_cast<float>(rel_y * h + shift_y));
    }
  }
  return result;
}

}  // namespace

absl::StatusOr<std::unique_ptr<LandmarkNet>> LandmarkNet::Load(const std::string& models_dir) {
  const std::string manifest =
      FaceApiManifestPath(models_dir, "face_landmark_68_model-weights_manifest.json");
  try {
    FSC_ASSIGN_OR_RETURN(TfjsWeights weights, TfjsWeights::Load(manifest));
    FSC_ASSIGN_OR_RETURN(LandmarkNetwork net, LandmarkNetwork::FromWeights(weights));
    return std::unique_ptr<LandmarkNet>(new LandmarkNetImpl(std::move(net)));
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("landmark net: loading ", manifest, " failed in LibTorch: ", e.what()));
  }
}

}  // namespace fsc::face
