// Faceswap's augmentation of one training face: coverage crop, colour jitter, random affine and
// flip, random warp; plus the platform-independent Rng that drives it.
#include "core/train/augment.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "absl/strings/str_cat.h"
#include "core/train/random_warp.h"

namespace fsc::train {
namespace {

constexpr int kNumLandmarks = 68;

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t RotateLeft(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

// Faceswap's _random_lab on 8-bit L*a*b*: a positive adjustment moves a channel towards 255 by
// that fraction of the distance, a negative one scales it towards 0.
uint8_t AdjustLab(int value, double adjustment) {
  const double out =
      adjustment >= 0 ? value + (255 - value) * adjustment : value * (1 + adjustment);
  return cv::saturate_cast<uint8_t>(out);
}

// Colour jitter of the prepared face (step 1), starting from its cached L*a*b* copy. Returns the
// BGR image itself when nothing changes.
cv::Mat AdjustColour(const PreparedFace& face, const SampleParams& params) {
  const bool lab = params.lab[0] != 0 || params.lab[1] != 0 || params.lab[2] != 0;
  if (!lab && params.clahe_grid <= 0) return face.image;
  cv::Mat converted;
  if (lab) {
    cv::Mat table(1, 256, CV_8UC3);
    for (int v = 0; v < 256; ++v) {
      for (int c = 0; c < 3; ++c) table.at<cv::Vec3b>(0, v)[c] = AdjustLab(v, params.lab[c]);
    }
    cv::LUT(face.lab, table, converted);
  } else {
    converted = face.lab.clone();
  }
  if (params.clahe_grid > 0) {
    cv::Mat lightness;
    cv::extractChannel(converted, lightness, 0);
    cv::createCLAHE(2.0, cv::Size(params.clahe_grid, params.clahe_grid))
        ->apply(lightness, lightness);
    cv::insertChannel(lightness, converted, 0);
  }
  cv::Mat out;
  cv::cvtColor(converted, out, cv::COLOR_Lab2BGR);
  return out;
}

// Scales the centre crop [pad, n - pad)² of a square image to size x size.
cv::Mat CropAndScale(const cv::Mat& image, int pad, int size) {
  const int crop = image.cols - 2 * pad;
  const cv::Mat roi = image(cv::Rect(pad, pad, crop, crop));
  if (crop == size) return roi.clone();
  cv::Mat out;
  cv::resize(roi, out, cv::Size(size, size), 0, 0, crop > size ? cv::INTER_AREA : cv::INTER_LINEAR);
  return out;
}

}  // namespace

Rng::Rng(uint64_t seed) {
  uint64_t state = seed;
  for (uint64_t& word : s_) word = SplitMix64(state);
}

Rng Rng::ForKey(std::initializer_list<uint64_t> key) {
  uint64_t hash = 0x6673632d7472616eull;  // "fsc-tran"
  for (uint64_t part : key) {
    uint64_t state = hash ^ part;
    hash = SplitMix64(state);
  }
  return Rng(hash);
}

uint64_t Rng::NextU64() {  // xoshiro256** (Blackman & Vigna)
  const uint64_t result = RotateLeft(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = RotateLeft(s_[3], 45);
  return result;
}

double Rng::Uniform() { return static_cast<double>(NextU64() >> 11) * 0x1.0p-53; }

double Rng::Uniform(double low, double high) { return low + (high - low) * Uniform(); }

double Rng::Normal() {
  const double u1 = 1.0 - Uniform();  // (0, 1]: log stays finite
  const double u2 = Uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

uint64_t Rng::Below(uint64_t n) {
  if (n == 0) return 0;
  // Reject the top partial block of 2^64 so every residue is equally likely.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x = NextU64();
  while (x >= limit) x = NextU64();
  return x % n;
}

absl::Status ValidateAugmentOptions(const AugmentOptions& o) {
  auto bad = [](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat("augmentation: ", what));
  };
  if (o.size < 16 || o.size > 2048) return bad(absl::StrCat("size ", o.size, " not in 16..2048"));
  if (!(o.coverage > 0 && o.coverage <= 1)) {
    return bad(absl::StrCat("coverage ", o.coverage, " not in (0, 1]; 0.875 is Faceswap's"));
  }
  if (!(o.rotation_degrees >= 0 && o.rotation_degrees <= 180)) {
    return bad(absl::StrCat("rotation ", o.rotation_degrees, " not in 0..180 degrees"));
  }
  if (!(o.zoom >= 0 && o.zoom < 1)) return bad(absl::StrCat("zoom ", o.zoom, " not in [0, 1)"));
  if (!(o.shift >= 0 && o.shift <= 1)) return bad(absl::StrCat("shift ", o.shift, " not in 0..1"));
  if (!(o.flip_chance >= 0 && o.flip_chance <= 1)) {
    return bad(absl::StrCat("flip chance ", o.flip_chance, " not in 0..1"));
  }
  if (!(o.lab_lightness >= 0 && o.lab_lightness <= 1 && o.lab_ab >= 0 && o.lab_ab <= 1)) {
    return bad("L*a*b* adjustments must be in 0..1");
  }
  if (!(o.clahe_chance >= 0 && o.clahe_chance <= 1)) {
    return bad(absl::StrCat("CLAHE chance ", o.clahe_chance, " not in 0..1"));
  }
  if (o.clahe_max_grid < 0 || o.clahe_max_grid > 16) {
    return bad(absl::StrCat("CLAHE max grid ", o.clahe_max_grid, " not in 0..16"));
  }
  if (!(o.warp_sigma >= 0 && o.warp_sigma <= 0.25)) {
    return bad(absl::StrCat("warp sigma ", o.warp_sigma, " not in 0..0.25 of the size"));
  }
  return absl::OkStatus();
}

PreparedFace PrepareFace(const TrainingFace& face, const AugmentOptions& options,
                         std::optional<face::MaskType> mask_type) {
  const int n = face.image.cols;
  const int size = options.size;
  // Faceswap's coverage crop: round(n (1 - coverage) / 2) pixels off every side.
  // (At least one pixel stays, however small the coverage.)
  const int pad =
      std::min(static_cast<int>(std::lround(n * (1.0 - options.coverage) / 2)), (n - 1) / 2);
  const int crop = n - 2 * pad;
  PreparedFace out;
  out.image = CropAndScale(face.image, pad, size);
  cv::cvtColor(out.image, out.lab, cv::COLOR_BGR2Lab);
  if (mask_type.has_value()) {
    const cv::Mat& stored = face.mask(*mask_type);
    out.mask = CropAndScale(
        stored.empty() ? face::BuildLandmarkMask(face.landmarks, face.image.size(), *mask_type)
                       : stored,
        pad, size);
  }
  // Pixel centres sit at integer coordinates: p' = (p - pad + ½) · size / crop − ½.
  const float scale = static_cast<float>(size) / crop;
  out.landmarks.reserve(face.landmarks.size());
  for (const cv::Point2f& p : face.landmarks) {
    out.landmarks.emplace_back((p.x - pad + 0.5f) * scale - 0.5f,
                               (p.y - pad + 0.5f) * scale - 0.5f);
  }
  return out;
}

SampleParams DrawSampleParams(const AugmentOptions& o, Rng& rng) {
  SampleParams p;
  p.rotation_degrees = rng.Uniform(-o.rotation_degrees, o.rotation_degrees);
  p.scale = rng.Uniform(1 - o.zoom, 1 + o.zoom);
  p.shift_x = rng.Uniform(-o.shift, o.shift) * o.size;
  p.shift_y = rng.Uniform(-o.shift, o.shift) * o.size;
  p.flip = rng.Uniform() < o.flip_chance;
  p.lab[0] = rng.Uniform(-o.lab_lightness, o.lab_lightness);
  p.lab[1] = rng.Uniform(-o.lab_ab, o.lab_ab);
  p.lab[2] = rng.Uniform(-o.lab_ab, o.lab_ab);
  const bool clahe = rng.Uniform() < o.clahe_chance;
  const int grid_base = static_cast<int>(rng.Below(static_cast<uint64_t>(o.clahe_max_grid) + 1));
  // Faceswap: grid = base · (contrast // 2) + contrast, contrast = max(2, size // 128).
  const int contrast = std::max(2, o.size / 128);
  p.clahe_grid = clahe ? grid_base * (contrast / 2) + contrast : 0;
  const double sigma = o.warp_sigma * o.size;
  for (float& v : p.warp_x) v = static_cast<float>(rng.Normal() * sigma);
  for (float& v : p.warp_y) v = static_cast<float>(rng.Normal() * sigma);
  return p;
}

cv::Mat SampleAffine(const SampleParams& params, int size) {
  // Faceswap rotates about (size // 2, size // 2).
  const cv::Point2f centre(static_cast<float>(size / 2), static_cast<float>(size / 2));
  cv::Mat m = cv::getRotationMatrix2D(centre, params.rotation_degrees, params.scale);
  m.at<double>(0, 2) += params.shift_x;
  m.at<double>(1, 2) += params.shift_y;
  if (params.flip) {  // then x -> size - 1 - x, which is what reversing the columns does
    for (int col = 0; col < 3; ++col) m.at<double>(0, col) = -m.at<double>(0, col);
    m.at<double>(0, 2) += size - 1;
  }
  return m;
}

const std::array<int, 68>& MirroredLandmarkOrder() {
  static const std::array<int, 68> order = [] {
    std::array<int, 68> o{};
    for (int i = 0; i < kNumLandmarks; ++i) o[i] = i;
    auto swap = [&o](int a, int b) {
      o[a] = b;
      o[b] = a;
    };
    for (int i = 0; i < 8; ++i) swap(i, 16 - i);       // jaw
    for (int i = 0; i < 5; ++i) swap(17 + i, 26 - i);  // brows
    swap(31, 35);                                      // nostrils (27-30, 33 on the midline)
    swap(32, 34);
    swap(36, 45);  // eyes: outer corners, upper lids, inner corners, lower lids
    swap(37, 44);
    swap(38, 43);
    swap(39, 42);
    swap(40, 47);
    swap(41, 46);
    swap(48, 54);  // outer lips (51, 57 on the midline)
    swap(49, 53);
    swap(50, 52);
    swap(55, 59);
    swap(56, 58);
    swap(60, 64);  // inner lips (62, 66 on the midline)
    swap(61, 63);
    swap(65, 67);
    return o;
  }();
  return order;
}

void AugmentSample(const PreparedFace& face, const AugmentOptions& options,
                   const SampleParams& params, AugmentedSample* out) {
  const int size = options.size;
  if (!options.augment) {
    face.image.copyTo(out->target);
    face.image.copyTo(out->input);
    if (face.mask.empty()) {
      out->mask.release();
    } else {
      face.mask.copyTo(out->mask);
    }
    out->landmarks = face.landmarks;
    return;
  }
  const cv::Mat coloured = AdjustColour(face, params);
  const cv::Mat affine = SampleAffine(params, size);
  const cv::Size dsize(size, size);
  cv::warpAffine(coloured, out->target, affine, dsize, cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  if (face.mask.empty()) {
    out->mask.release();
  } else {
    cv::warpAffine(face.mask, out->mask, affine, dsize, cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  }

  std::vector<cv::Point2f> moved;
  cv::transform(face.landmarks, moved, affine);
  out->landmarks.resize(moved.size());
  if (params.flip && moved.size() == kNumLandmarks) {
    const std::array<int, 68>& order = MirroredLandmarkOrder();
    for (int i = 0; i < kNumLandmarks; ++i) out->landmarks[i] = moved[order[i]];
  } else {
    out->landmarks = moved;
  }

  if (options.warp) {
    cv::Mat map_x, map_y;
    RandomWarpMaps(size, params.warp_x, params.warp_y, &map_x, &map_y);
    ComposeMapsWithAffine(affine, &map_x, &map_y);
    cv::remap(coloured, out->input, map_x, map_y, cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  } else {
    out->target.copyTo(out->input);
  }
}

}  // namespace fsc::train
