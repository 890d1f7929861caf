// Preview grid rendering.
#include "core/train/preview.h"

#include <algorithm>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "absl/strings/str_cat.h"
#include "core/util/file_io.h"
#include "core/util/status_macros.h"

namespace fsc::train {

cv::Size PreviewSize(int rows, int face_size) {
  return cv::Size(kPreviewColumns * face_size, kPreviewHeader + rows * face_size);
}

std::vector<int64_t> PreviewFaces(int64_t set_size, int count) {
  std::vector<int64_t> out;
  const int64_t n = std::min<int64_t>(set_size, count);
  for (int64_t i = 0; i < n; ++i) out.push_back(i * set_size / n);
  return out;
}

std::vector<cv::Mat> TensorToImages(const torch::Tensor& batch) {
  torch::Tensor bytes = (batch.detach().to(torch::kCPU, torch::kFloat32).clamp(0, 1) * 255)
                            .round()
                            .to(torch::kUInt8)
                            .permute({0, 2, 3, 1})  // NHWC, RGB
                            .contiguous();
  std::vector<cv::Mat> out;
  const int h = static_cast<int>(bytes.size(1)), w = static_cast<int>(bytes.size(2));
  for (int64_t i = 0; i < bytes.size(0); ++i) {
    cv::Mat rgb(h, w, CV_8UC3, bytes[i].data_ptr<uint8_t>());
    cv::Mat bgr;
    cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
    out.push_back(bgr);
  }
  return out;
}

absl::StatusOr<cv::Mat> RenderPreview(TrainStep& step, const Batch& a, const Batch& b) {
  const int64_t rows = std::min(a.input.size(0), b.input.size(0));
  torch::Tensor in_a = a.input.narrow(0, 0, rows), in_b = b.input.narrow(0, 0, rows);
  FSC_ASSIGN_OR_RETURN(torch::Tensor aa, step.Predict(in_a, model::Side::kA));
  FSC_ASSIGN_OR_RETURN(torch::Tensor ab, step.Predict(in_a, model::Side::kB));
  FSC_ASSIGN_OR_RETURN(torch::Tensor bb, step.Predict(in_b, model::Side::kB));
  FSC_ASSIGN_OR_RETURN(torch::Tensor ba, step.Predict(in_b, model::Side::kA));
  const std::vector<std::vector<cv::Mat>> columns = {
      TensorToImages(a.target.narrow(0, 0, rows)), TensorToImages(aa), TensorToImages(ab),
      TensorToImages(b.target.narrow(0, 0, rows)), TensorToImages(bb), TensorToImages(ba)};
  const int size = static_cast<int>(in_a.size(2));
  cv::Mat grid(PreviewSize(static_cast<int>(rows), size), CV_8UC3, cv::Scalar(32, 32, 32));
  const char* labels[kPreviewColumns] = {"A", "A>A", "A>B", "B", "B>B", "B>A"};
  for (int c = 0; c < kPreviewColumns; ++c) {
    cv::putText(grid, labels[c], cv::Point(c * size + 3, kPreviewHeader - 4),
                cv::FONT_HERSHEY_SIMPLEX, 0.4, cv::Scalar(230, 230, 230), 1, cv::LINE_AA);
    for (int64_t r = 0; r < rows; ++r) {
      columns[c][r].copyTo(
          grid(cv::Rect(c * size, kPreviewHeader + static_cast<int>(r) * size, size, size)));
    }
  }
  return grid;
}

absl::Status WritePng(const cv::Mat& image, const std::string& path) {
  std::vector<uint8_t> png;
  if (!cv::imencode(".png", image, png)) {
    return absl::InternalError(absl::StrCat("could not encode the PNG for ", path));
  }
  return util::WriteFileAtomically(
      path, std::string(reinterpret_cast<const char*>(png.data()), png.size()));
}

}  // namespace fsc::train
