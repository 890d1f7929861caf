// A zero-lag smoother for landmark trajectories known in full (offline): local polynomial
// approximation with windows chosen per frame by the intersection of confidence intervals
// (LPA-ICI, Katkovnik). For every frame, fits over left, right and centred windows of growing
// size give estimates with known variance; each kind of fit keeps the largest window whose
// confidence intervals all still intersect, and the estimates are averaged by inverse variance.
// Where the face is still or moves smoothly the windows grow long (strong smoothing); at an abrupt
// move the windows crossing it stop growing, and the one-sided window on the far side carries the
// estimate. A constant-velocity Rauch-Tung-Striebel smoother, the usual alternative, rounds such a
// step off over several frames.
//
// Landmarks are split into a similarity pose (centroid, log scale, rotation; 68 points averaged,
// so its noise is low and steps show clearly) and the pose-normalised shape (expression and
// landmark noise), smoothed separately and recombined. The noise of every signal is estimated
// from the track itself (median absolute third difference). The pose is first cut at its abrupt
// moves (FindSteps); each piece is then smoothed with quadratic fits at a looser threshold (and a
// centred linear fit at the general one, for the piece's ends): head motion is curved, linear fits
// over long windows leave a bias that wobbles from frame to frame, and with the steps cut out no
// window has to stop at one. The ICI alone cannot do both: a threshold loose enough for long
// windows on curved motion lets windows creep across a step.
#ifndef FSC_CORE_FACE_LANDMARK_SMOOTHER_H_
#define FSC_CORE_FACE_LANDMARK_SMOOTHER_H_

#include <cstddef>
#include <vector>

#include "core/face/landmark_net.h"

namespace fsc::face {

struct SmootherOptions {
  // > 0; scales the ICI thresholds (sqrt) and the longest half-windows (linearly).
  double strength = 1.0;
};

// Signals sampled at `times` (increasing, in processed frames); `observed[k]` false marks a
// sample with no measurement (a filled gap), estimated from its neighbours only.
struct SampledSignals {
  std::vector<double> times;
  std::vector<bool> observed;
  std::vector<std::vector<double>> channels;  // [channel][sample]
};

// One kind of local polynomial fit: the side of the frame its windows cover and its order (1:
// linear, unbiased for steady motion; 2: quadratic, unbiased for steady acceleration, noisier in
// the same window).
enum class FitSide { kLeft, kRight, kCentred };
struct LocalFit {
  FitSide side;
  int order;  // 1 or 2
  // This fit's ICI threshold; 0: LpaIciOptions::gamma.
  double gamma = 0;
};

// How LPA-ICI runs on one group of channels. The defaults are the general-purpose set.
struct LpaIciOptions {
  std::vector<LocalFit> fits = {
      {FitSide::kLeft, 1}, {FitSide::kRight, 1}, {FitSide::kCentred, 1}, {FitSide::kCentred, 2}};
  // ICI threshold: a window is kept while its estimate stays within ~gamma standard deviations
  // of every shorter window's.
  double gamma = 2.0;
  // Longest half-window, in processed frames (>= 1).
  double max_half_window = 32;
  // Triangular window weights (1 - |t| / (h + 1)) instead of uniform: the same noise reduction
  // changes less from one frame to the next, as samples enter a window at weight ~0.
  bool triangular = false;
};

// The noise standard deviation of one channel from its observed samples: the median absolute third
// difference over runs of evenly spaced samples, scaled for Gaussian noise (third differences all
// but cancel smooth motion, even a fast shake, and a rare step moves the median little); second
// differences when there are fewer than `min_runs` runs of four; -1 when there are none.
double EstimateNoise(const SampledSignals& signals, int channel, int min_runs);

// LPA-ICI over a group of channels that share their windows (a window is kept only while every
// channel's intervals intersect); `sigma[c]` > 0 is channel c's noise. Returns the estimates at
// every sample, [channel][sample]. A sample no window can estimate keeps its value.
std::vector<std::vector<double>> LpaIciSmooth(const SampledSignals& signals,
                                              const std::vector<double>& sigma,
                                              const LpaIciOptions& options);

// Abrupt moves of a group of channels (noise `sigma[c]` > 0): boundaries between neighbouring
// observed samples where linear fits over the `width` observed samples on either side, both
// extrapolated to the boundary, differ by more than `threshold` standard deviations on some
// channel, and by more than at any other boundary within width / 2. Returns, increasing, the
// index of the first sample after each such boundary.
std::vector<size_t> FindSteps(const SampledSignals& signals, const std::vector<double>& sigma,
                              int width, double threshold);

// Smooths one track segment (no shot cut inside): landmarks[k] at times[k], observed as above;
// all entries 68 points. Returns the smoothed landmarks; a segment too short to estimate its
// noise (under 3 observed frames) comes back unchanged.
std::vector<Landmarks> SmoothLandmarkTrack(const std::vector<double>& times,
                                           const std::vector<Landmarks>& landmarks,
                                           const std::vector<bool>& observed,
                                           const SmootherOptions& options);

}  // namespace fsc::face

#endif  // FSC_CORE_FACE_LANDMARK_SMOOTHER_H_
