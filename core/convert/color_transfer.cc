// Colour matching methods of fsc convert (see color_transfer.h).
#include "core/convert/color_transfer.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <opencv2/imgproc.hpp>
#include <opencv2/photo.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace fsc::convert {
namespace {

constexpr int kBins = 256;

// Histogram of one float channel (0..1) over `bins` equal bins, inside `region`.
std::array<double, kBins> ChannelHistogram(const cv::Mat& channel, const cv::Mat& region) {
  std::array<double, kBins> hist{};
  for (int y = 0; y < channel.rows; ++y) {
    const float* v = channel.ptr<float>(y);
    const uint8_t* m = region.ptr<uint8_t>(y);
    for (int x = 0; x < channel.cols; ++x) {
      if (!m[x]) continue;
      const int bin = std::clamp(static_cast<int>(std::lround(v[x] * (kBins - 1))), 0, kBins - 1);
      hist[bin] += 1;
    }
  }
  return hist;
}

// Normalised cumulative histogram: cdf[i] = share of values at or below bin i.
std::array<double, kBins> Cdf(const std::array<double, kBins>& hist) {
  std::array<double, kBins> cdf{};
  double total = 0;
  for (double h : hist) total += h;
  double running = 0;
  for (int i = 0; i < kBins; ++i) {
    running += hist[i];
    cdf[i] = total > 0 ? running / total : 0;
  }
  return cdf;
}

}  // namespace

std::vector<std::string> ColorMethodNames() {
  return {"none", "avg-color", "rct", "hist-match", "seamless"};
}

absl::StatusOr<ColorMethod> ParseColorMethod(const std::string& name) {
  const std::vector<std::string> names = ColorMethodNames();
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return static_cast<ColorMethod>(i);
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown colour method \"", name,
                                                 "\"; use one of: ", absl::StrJoin(names, ", ")));
}

std::string ColorMethodName(ColorMethod method) {
  return ColorMethodNames()[static_cast<int>(method)];
}

void MaskedMeanStd(const cv::Mat& image, const cv::Mat& region, cv::Scalar* mean,
                   cv::Scalar* stddev) {
  cv::meanStdDev(image, *mean, *stddev, region);
}

void MatchAverageColor(cv::Mat* face, const cv::Mat& target, const cv::Mat& region) {
  const cv::Scalar face_mean = cv::mean(*face, region);
  const cv::Scalar target_mean = cv::mean(target, region);
  cv::add(*face, target_mean - face_mean, *face);
}

void ReinhardColorTransfer(cv::Mat* face, const cv::Mat& target, const cv::Mat& region) {
  // Float L*a*b* (L 0..100, a/b about -127..127): no 8-bit quantisation of the statistics.
  cv::Mat face_lab, target_lab;
  cv::cvtColor(*face, face_lab, cv::COLOR_BGR2Lab);
  cv::cvtColor(target, target_lab, cv::COLOR_BGR2Lab);
  cv::Scalar face_mean, face_std, target_mean, target_std;
  MaskedMeanStd(face_lab, region, &face_mean, &face_std);
  MaskedMeanStd(target_lab, region, &target_mean, &target_std);
  std::vector<cv::Mat> channels;
  cv::split(face_lab, channels);
  for (int c = 0; c < 3; ++c) {
    // A flat face channel has nothing to scale: only its mean moves.
    const double gain = face_std[c] > 1e-6 ? target_std[c] / face_std[c] : 1.0;
    channels[c].convertTo(channels[c], CV_32F, gain, target_mean[c] - gain * face_mean[c]);
  }
  cv::merge(channels, face_lab);
  cv::cvtColor(face_lab, *face, cv::COLOR_Lab2BGR);
}

void MatchHistograms(cv::Mat* face, const cv::Mat& target, const cv::Mat& region) {
  std::vector<cv::Mat> face_channels, target_channels;
  cv::split(*face, face_channels);
  cv::split(target, target_channels);
  for (int c = 0; c < face->channels(); ++c) {
    const std::array<double, kBins> source_cdf = Cdf(ChannelHistogram(face_channels[c], region));
    const std::array<double, kBins> target_cdf = Cdf(ChannelHistogram(target_channels[c], region));
    // lut[i]: the target value whose cumulative share first reaches the face's share at bin i,
    // interpolated between bins so that the mapping is smooth rather than stepped.
    std::array<float, kBins> lut{};
    for (int i = 0; i < kBins; ++i) {
      const double share = source_cdf[i];
      const double* found = std::lower_bound(target_cdf.data(), target_cdf.data() + kBins, share);
      int j = static_cast<int>(found - target_cdf.data());
      if (j >= kBins) j = kBins - 1;
      double value = j;
      if (j > 0 && target_cdf[j] > target_cdf[j - 1]) {
        value = (j - 1) + (share - target_cdf[j - 1]) / (target_cdf[j] - target_cdf[j - 1]);
      }
      lut[i] = static_cast<float>(value / (kBins - 1));
    }
    // Values between bins are interpolated in the table too.
    cv::Mat& channel = face_channels[c];
    for (int y = 0; y < channel.rows; ++y) {
      float* v = channel.ptr<float>(y);
      for (int x = 0; x < channel.cols; ++x) {
        const float pos = std::clamp(v[x], 0.0f, 1.0f) * (kBins - 1);
        const int lo = std::min(static_cast<int>(pos), kBins - 2);
        const float t = pos - lo;
        v[x] = lut[lo] + t * (lut[lo + 1] - lut[lo]);
      }
    }
  }
  cv::merge(face_channels, *face);
}

void SeamlessClone(cv::Mat* face, const cv::Mat& target, const cv::Mat& region) {
  cv::Mat face8, target8, mask = region.clone();
  face->convertTo(face8, CV_8U, 255.0);
  target.convertTo(target8, CV_8U, 255.0);
  mask.row(0).setTo(0);
  mask.row(mask.rows - 1).setTo(0);
  mask.col(0).setTo(0);
  mask.col(mask.cols - 1).setTo(0);
  const cv::Rect box = cv::boundingRect(mask);
  if (box.empty()) return;
  // seamlessClone centres the mask's bounding box on `p`; this `p` puts it back where it is.
  const cv::Point p(box.x + box.width / 2, box.y + box.height / 2);
  cv::Mat blended;
  cv::seamlessClone(face8, target8, mask, p, blended, cv::NORMAL_CLONE);
  blended.convertTo(*face, CV_32F, 1.0 / 255.0);
}

absl::Status ApplyColorTransfer(ColorMethod method, cv::Mat* face, const cv::Mat& target,
                                const cv::Mat& region) {
  if (face->size() != target.size() || face->type() != CV_32FC3 || target.type() != CV_32FC3 ||
      region.size() != face->size() || region.type() != CV_8UC1) {
    return absl::InvalidArgumentError(
        "colour transfer: face and target must be float BGR images of one size with an 8-bit "
        "region of the same size");
  }
  if (method == ColorMethod::kNone || cv::countNonZero(region) == 0) return absl::OkStatus();
  switch (method) {
    case ColorMethod::kAvgColor:
      MatchAverageColor(face, target, region);
      break;
    case ColorMethod::kRct:
      ReinhardColorTransfer(face, target, region);
      break;
    case ColorMethod::kHistMatch:
      MatchHistograms(face, target, region);
      break;
    case ColorMethod::kSeamless:
      SeamlessClone(face, target, region);
      break;
    case ColorMethod::kNone:
      break;
  }
  return absl::OkStatus();
}

}  // namespace fsc::convert
