// FrameHistogram and shot cuts from neighbouring frames' histogram distance.
#include "core/face/shot_cuts.h"

#include <cmath>
#include <opencv2/imgproc.hpp>

#include "core/face/stabilize.h"

namespace fsc::face {
namespace {

// The histogram only needs the colour distribution: a thumbnail keeps it and costs ~nothing.
constexpr int kThumbnailSide = 64;
constexpr int kLevels = 4;  // per channel; 4^3 == kFrameHistogramBins

template <typename A, typename B>
double HalfL1(const A& a, const B& b) {
  if (a.empty() || a.size() != b.size()) return 0;
  double sum = 0;
  for (int i = 0; i < static_cast<int>(a.size()); ++i) sum += std::fabs(a[i] - b[i]);
  return 0.5 * sum;
}

}  // namespace

std::vector<float> FrameHistogram(const cv::Mat& bgr) {
  std::vector<float> histogram(kFrameHistogramBins, 0.f);
  if (bgr.empty() || bgr.depth() != CV_8U) return histogram;
  cv::Mat small = bgr;
  const double scale = static_cast<double>(kThumbnailSide) / std::max(bgr.cols, bgr.rows);
  if (scale < 1) cv::resize(bgr, small, cv::Size(), scale, scale, cv::INTER_AREA);
  if (small.channels() == 1) cv::cvtColor(small, small, cv::COLOR_GRAY2BGR);
  if (small.channels() == 4) cv::cvtColor(small, small, cv::COLOR_BGRA2BGR);
  if (small.channels() != 3) return histogram;
  for (int y = 0; y < small.rows; ++y) {
    const cv::Vec3b* row = small.ptr<cv::Vec3b>(y);
    for (int x = 0; x < small.cols; ++x) {
      const int bin =
          (row[x][0] / 64) * kLevels * kLevels + (row[x][1] / 64) * kLevels + row[x][2] / 64;
      histogram[bin] += 1.f;
    }
  }
  const float total = static_cast<float>(small.total());
  for (float& v : histogram) v /= total;
  return histogram;
}

double HistogramDistance(const std::vector<float>& a, const std::vector<float>& b) {
  return HalfL1(a, b);
}

double HistogramDistance(const google::protobuf::RepeatedField<float>& a,
                         const google::protobuf::RepeatedField<float>& b) {
  return HalfL1(a, b);
}

int MarkShotCuts(double threshold, proto::Alignments* alignments) {
  int cuts = 0;
  // Compared with the last frame that has a histogram: frames inserted without one (filled
  // gaps) neither start a shot nor hide one.
  const proto::Frame* previous = nullptr;
  for (proto::Frame& frame : *alignments->mutable_frames()) {
    const bool cut = previous != nullptr &&
                     HistogramDistance(previous->histogram(), frame.histogram()) > threshold;
    frame.set_shot_cut(cut);
    cuts += cut;
    if (frame.histogram_size() > 0) previous = &frame;
  }
  return cuts;
}

}  // namespace fsc::face
