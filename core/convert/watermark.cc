// Keyed spread-spectrum watermark in the luma on a frame-relative grid (see watermark.h).
#include "core/convert/watermark.h"

#include <cmath>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/util/sha256.h"

namespace fsc::convert {
namespace {

// Key cells per side; the frame is divided into kGrid x kGrid cells whatever its aspect. 96
// measured best: 64 leaves more host interference (lower z), 128 makes cells too small to
// survive a 50 % downscale of a 720p video well (see watermark_test / bench figures).
constexpr int kGrid = 96;
// Working-grid pixels per cell side; the working grid is kWork x kWork.
constexpr int kCell = 4;
constexpr int kWork = kGrid * kCell;
// Smoothing of the pattern (Gaussian sigma, in cells): keeps it to low/mid frequencies.
constexpr double kSmoothCells = 0.5;
// The detector's high-pass removes content coarser than this (Gaussian sigma, in cells).
constexpr double kHighPassCells = 1.0;
// Pattern RMS in luma levels where the frame is textured (PSNR 39-41 dB on photos, 41 on video).
constexpr float kStrength = 2.8f;
// Texture mask: strength x clamp(kMaskFloor + kMaskSlope * local std of the luma, .., 1). Flat
// areas get half: at full strength the pattern showed as faint grain in large flat dark areas.
constexpr float kMaskFloor = 0.5f;
constexpr float kMaskSlope = 0.15f;
// The key: the bits of SHA-256(kKeySeed + counter), one sign per cell.
constexpr char kKeySeed[] = "fsc synthetic-content watermark, key v1, #";

void Blur(const cv::Mat& in, cv::Mat* out, double sigma_px) {
  cv::GaussianBlur(in, *out, cv::Size(0, 0), sigma_px, sigma_px, cv::BORDER_REFLECT);
}

struct Key {
  cv::Mat signs;    // kGrid x kGrid CV_32F, +1/-1
  cv::Mat pattern;  // kWork x kWork CV_32F, zero mean, unit RMS: Blur(NearestUp(signs))
};

const Key& TheKey() {
  static const Key* key = [] {
    auto* k = new Key;
    k->signs.create(kGrid, kGrid, CV_32F);
    std::string digest;
    for (int bit = 0; bit < kGrid * kGrid; ++bit) {
      if (bit % 256 == 0) digest = util::Sha256Hex(absl::StrCat(kKeySeed, bit / 256));
      int nibble = std::stoi(digest.substr((bit % 256) / 4, 1), nullptr, 16);
      k->signs.at<float>(bit / kGrid, bit % kGrid) = ((nibble >> (bit % 4)) & 1) ? 1.f : -1.f;
    }
    cv::Mat up;
    cv::resize(k->signs, up, cv::Size(kWork, kWork), 0, 0, cv::INTER_NEAREST);
    Blur(up, &k->pattern, kSmoothCells * kCell);
    cv::Scalar mean, stddev;
    cv::meanStdDev(k->pattern, mean, stddev);
    k->pattern = (k->pattern - mean[0]) / stddev[0];
    return k;
  }();
  return *key;
}

// The image's luma resampled onto the working grid (area average when shrinking).
cv::Mat WorkingLuma(const cv::Mat& image) {
  cv::Mat gray;
  if (image.channels() == 3) {
    cv::cvtColor(image, gray, cv::COLOR_BGR2GRAY);
  } else {
    gray = image;
  }
  cv::Mat work;
  int interp = (image.cols >= kWork && image.rows >= kWork) ? cv::INTER_AREA : cv::INTER_LINEAR;
  cv::resize(gray, work, cv::Size(kWork, kWork), 0, 0, interp);
  work.convertTo(work, CV_32F);
  return work;
}

// Local standard deviation of `x` over about one cell.
cv::Mat LocalStd(const cv::Mat& x) {
  cv::Mat mean, mean_sq;
  Blur(x, &mean, kCell);
  Blur(x.mul(x), &mean_sq, kCell);
  cv::Mat out;
  cv::sqrt(cv::max(mean_sq - mean.mul(mean), 0.f), out);
  return out;
}

bool Scorable(const cv::Mat& image) {
  return !image.empty() && image.depth() == CV_8U &&
         (image.channels() == 3 || image.channels() == 1) && image.cols >= kMinWatermarkSide &&
         image.rows >= kMinWatermarkSide;
}

}  // namespace

double ConfidenceFromZ(double z) { return 1.0 / (1.0 + std::exp(-(z - kFoundZ))); }

bool EmbedWatermark(cv::Mat* bgr) {
  if (bgr == nullptr || bgr->empty() || bgr->type() != CV_8UC3) return false;
  if (bgr->cols < kMinWatermarkSide || bgr->rows < kMinWatermarkSide) return false;
  // Strength map: full where the content varies (the eye and the codecs forgive changes there),
  // half where it is flat. It is coarse by nature, so it is computed at half the working grid
  // (two pixels per cell) from a point-sampled (linear) resize with box filters: a tenth of the
  // cost of the area resize the detector needs.
  constexpr int kMaskGrid = kWork / 2;
  cv::Mat gray, work;
  cv::cvtColor(*bgr, gray, cv::COLOR_BGR2GRAY);
  cv::resize(gray, work, cv::Size(kMaskGrid, kMaskGrid), 0, 0, cv::INTER_LINEAR);
  work.convertTo(work, CV_32F);
  const cv::Size window(kCell + 1, kCell + 1);  // about one cell either side
  cv::Mat mean, mean_sq, texture;
  cv::blur(work, mean, window, cv::Point(-1, -1), cv::BORDER_REFLECT);
  cv::blur(work.mul(work), mean_sq, window, cv::Point(-1, -1), cv::BORDER_REFLECT);
  cv::sqrt(cv::max(mean_sq - mean.mul(mean), 0.f), texture);
  cv::Mat mask = cv::min(texture * kMaskSlope + kMaskFloor, 1.f);
  cv::resize(mask, mask, cv::Size(kWork, kWork), 0, 0, cv::INTER_LINEAR);
  cv::Mat delta = TheKey().pattern.mul(mask) * kStrength;
  // The same delta on B, G and R moves the luma by exactly delta and leaves chroma alone. It is
  // split into its positive and negative parts (8-bit, on the working grid), each resized to
  // the frame; two vectorised saturating passes then add the signed delta.
  cv::Mat plus, minus, negated = -delta;
  delta.convertTo(plus, CV_8U);  // rounds; negatives saturate to 0
  negated.convertTo(minus, CV_8U);
  cv::resize(plus, plus, bgr->size(), 0, 0, cv::INTER_LINEAR);
  cv::resize(minus, minus, bgr->size(), 0, 0, cv::INTER_LINEAR);
  cv::Mat plus3, minus3;
  cv::merge(std::vector<cv::Mat>{plus, plus, plus}, plus3);
  cv::merge(std::vector<cv::Mat>{minus, minus, minus}, minus3);
  cv::add(*bgr, plus3, *bgr);
  cv::subtract(*bgr, minus3, *bgr);
  return true;
}

std::vector<float> WatermarkResponse(const cv::Mat& image) {
  if (!Scorable(image)) return {};
  cv::Mat work = WorkingLuma(image);
  // Whitening: drop the coarse content, then even out local contrast so that a few strong edges
  // do not dominate the sum.
  cv::Mat low;
  Blur(work, &low, kHighPassCells * kCell);
  cv::Mat high = work - low;
  cv::Mat norm = high / (LocalStd(high) + 1.f);
  // Adjoint of the embedding filter: the same (symmetric) blur, then a sum over each cell.
  cv::Mat smoothed, g;
  Blur(norm, &smoothed, kSmoothCells * kCell);
  cv::resize(smoothed, g, cv::Size(kGrid, kGrid), 0, 0, cv::INTER_AREA);
  const double length = std::sqrt(g.dot(g));
  if (!(length > 0)) return {};
  g /= length;
  return std::vector<float>(g.begin<float>(), g.end<float>());
}

WatermarkScore ScoreResponse(const std::vector<float>& response) {
  WatermarkScore score;
  if (response.size() != static_cast<size_t>(kGrid * kGrid)) return score;
  const cv::Mat& signs = TheKey().signs;
  double num = 0, den = 0;
  for (int i = 0; i < kGrid * kGrid; ++i) {
    num += response[i] * signs.at<float>(i / kGrid, i % kGrid);
    den += static_cast<double>(response[i]) * response[i];
  }
  if (!(den > 0)) return score;
  score.z = num / std::sqrt(den);
  score.confidence = ConfidenceFromZ(score.z);
  score.found = score.z >= kFoundZ;
  return score;
}

WatermarkScore DetectWatermark(const cv::Mat& image) {
  return ScoreResponse(WatermarkResponse(image));
}

}  // namespace fsc::convert
