// Faceswap's training-data augmentation for one face (lib/training/augmentation.py), made
// deterministic: every random choice of a sample comes from an Rng keyed by (seed, side, epoch,
// position), so a sample is the same whichever thread makes it and whatever ran before.
//
// Per face, once (PrepareFace): crop the centre `coverage` of the aligned face (Faceswap's
// coverage ratio; default 87.5 %) and scale it to the model size S. fsc's aligned faces use
// Faceswap's "face" centring, so this is the crop Faceswap trains on.
//
// Per sample (AugmentSample), in Faceswap's order:
//   1. colour: random L*a*b* shift (lightness ±30 %, a/b ±8 % towards 0 or 255, Faceswap's
//      defaults) and, with 50 % chance, CLAHE on lightness with a random grid;
//   2. geometry: random rotation (±10°) and zoom (±5 %) about the centre, shift (±5 % of S),
//      then a horizontal flip (50 %), all as one affine resample (edge pixels replicated);
//   3. target = that image; mask and landmarks go through the same affine (a flip also reorders
//      the landmarks so that index 36 stays the eye on the image's left, and so on);
//   4. input = Faceswap's random warp of the target: a 5x5 grid of control points spanning the
//      image, each moved by normal noise (σ = 5/256 of S), interpolated to a dense map. fsc folds
//      the affine of step 2 into that map, so the input is resampled once from the coloured crop
//      instead of twice (sharper; Faceswap resamples the already transformed image).
// Input and target are both S x S: the models here have equal input and output sizes.
#ifndef FSC_CORE_TRAIN_AUGMENT_H_
#define FSC_CORE_TRAIN_AUGMENT_H_

#include <array>
#include <cstdint>
#include <initializer_list>
#include <opencv2/core.hpp>
#include <optional>

#include "absl/status/status.h"
#include "core/face/landmark_net.h"
#include "core/face/mask.h"
#include "core/train/face_set.h"

namespace fsc::train {

// A small counter-seeded generator (xoshiro256**, seeded by SplitMix64). Its own uniform and
// normal draws (not <random>'s distributions, whose output differs between standard libraries)
// make a seed give the same samples on every platform.
class Rng {
 public:
  explicit Rng(uint64_t seed);
  // A generator for a tuple of integers; different tuples give independent streams.
  static Rng ForKey(std::initializer_list<uint64_t> key);

  uint64_t NextU64();
  double Uniform();                         // [0, 1)
  double Uniform(double low, double high);  // [low, high)
  double Normal();                          // standard normal (Box-Muller)
  uint64_t Below(uint64_t n);               // [0, n), unbiased; 0 when n is 0

 private:
  uint64_t s_[4];
};

struct AugmentOptions {
  int size = 64;            // S: model input and output side, pixels
  double coverage = 0.875;  // centre fraction of the aligned face the model sees, (0, 1]
  // false: no augmentation at all (preview / conversion-style samples): input = target = the
  // coverage crop.
  bool augment = true;
  double rotation_degrees = 10;  // uniform in ±this
  double zoom = 0.05;            // scale uniform in 1 ± this
  double shift = 0.05;           // x and y shift uniform in ± this × S
  double flip_chance = 0.5;
  double lab_lightness = 0.30;    // L* adjustment uniform in ± this (Faceswap color_lightness 30)
  double lab_ab = 0.08;           // a*, b* adjustment uniform in ± this (Faceswap color_ab 8)
  double clahe_chance = 0.5;      // Faceswap color_clahe_chance 50
  int clahe_max_grid = 4;         // Faceswap color_clahe_max_size
  bool warp = true;               // the random warp of the input
  double warp_sigma = 5.0 / 256;  // control-point noise σ as a fraction of S
};

// INVALID_ARGUMENT naming the option that is out of range.
absl::Status ValidateAugmentOptions(const AugmentOptions& options);

// A face cropped to coverage and scaled to S, the starting point of each of its samples.
struct PreparedFace {
  cv::Mat image;              // S x S CV_8UC3 BGR
  cv::Mat lab;                // the image in 8-bit L*a*b* (saves a conversion per sample)
  cv::Mat mask;               // S x S CV_8UC1, empty without a mask type
  face::Landmarks landmarks;  // 68 points in S pixels
};

// Crops `face` to options.coverage and scales it to options.size (area averaging when
// shrinking). `mask_type`: the mask to carry, drawn from the landmarks if the face lacks it;
// nullopt for none. Options must be valid.
PreparedFace PrepareFace(const TrainingFace& face, const AugmentOptions& options,
                         std::optional<face::MaskType> mask_type);

// Every random choice for one sample. Drawn in a fixed order whatever the options say (a range
// of 0 still consumes its draw), so turning one augmentation off leaves the others unchanged.
struct SampleParams {
  double rotation_degrees = 0;
  double scale = 1;
  double shift_x = 0, shift_y = 0;  // pixels
  bool flip = false;
  std::array<double, 3> lab = {0, 0, 0};     // L*, a*, b* adjustments in [-1, 1]
  int clahe_grid = 0;                        // CLAHE tile grid side; 0: no CLAHE
  std::array<float, 25> warp_x{}, warp_y{};  // control-point noise, pixels, row major 5x5
};

SampleParams DrawSampleParams(const AugmentOptions& options, Rng& rng);

// The 2x3 CV_64F affine from prepared-face pixels to target pixels for `params`: rotation and
// zoom about (S/2, S/2) as cv::getRotationMatrix2D, plus the shift, then the flip x -> S-1-x.
cv::Mat SampleAffine(const SampleParams& params, int size);

// Landmark order after a horizontal mirror: mirrored[i] = flipped point of index order[i]
// (jaw 0<->16, brows 17<->26, eyes 36<->45, mouth corners 48<->54, ...).
const std::array<int, 68>& MirroredLandmarkOrder();

struct AugmentedSample {
  cv::Mat input;              // S x S CV_8UC3 BGR: warped
  cv::Mat target;             // S x S CV_8UC3 BGR: colour + geometry, not warped
  cv::Mat mask;               // S x S CV_8UC1 aligned with target; empty without a mask
  face::Landmarks landmarks;  // 68 points in target pixels
};

// Makes one sample of `face` (from PrepareFace with the same options). Reuses the buffers of
// `out` when their sizes fit. With options.augment false, input = target = the prepared face.
void AugmentSample(const PreparedFace& face, const AugmentOptions& options,
                   const SampleParams& params, AugmentedSample* out);

}  // namespace fsc::train

#endif  // FSC_CORE_TRAIN_AUGMENT_H_
