// A zero-lag smoother for landmark trajectories known in full (offline): local polynomial
// approximation with windows chosen per frame by the intersection of confidence intervals
// (LPA-ICI, Katkovnik). For every frame, linear fits over left, right and centred windows of
// growing size, and quadratic fits over centred ones, give estimates with known variance; each
// kind of fit keeps the largest window whose confidence intervals all still intersect, and the
// four estimates are averaged by inverse variance. Where the face is still or moves smoothly the
// windows grow long (strong smoothing); at an abrupt move the windows crossing it stop growing at
// once, and the one-sided window on the far side carries the estimate, so a step is followed within
// a frame. A constant-velocity Rauch-Tung-Striebel smoother, the usual alternative, rounds such a
// step off over several frames.
//
// Landmarks are split into a similarity pose (centroid, log scale, rotation; 68 points averaged,
// so its noise is low and steps show clearly) and the pose-normalised shape (expression and
// landmark noise), smoothed separately and recombined. The noise of every signal is estimated
// from the track itself (median absolute third difference).
#ifndef FSC_CORE_FACE_LANDMARK_SMOOTHER_H_
#define FSC_CORE_FACE_LANDMARK_SMOOTHER_H_

#include <vector>

#include "core/face/landmark_net.h"

namespace fsc::face {

struct SmootherOptions {
  // > 0; scales the ICI threshold (sqrt) and the longest half-window (linearly).
  double strength = 1.0;
};

// Signals sampled at `times` (increasing, in processed frames); `observed[k]` false marks a
// sample with no measurement (a filled gap), estimated from its neighbours only.
struct SampledSignals {
  std::vector<double> times;
  std::vector<bool> observed;
  std::vector<std::vector<double>> channels;  // [channel][sample]
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
                                              const SmootherOptions& options);

// Smooths one track segment (no shot cut inside): landmarks[k] at times[k], observed as above;
// all entries 68 points. Returns the smoothed landmarks; a segment too short to estimate its
// noise (under 3 observed frames) comes back unchanged.
std::vector<Landmarks> SmoothLandmarkTrack(const std::vector<double>& times,
                                           const std::vector<Landmarks>& landmarks,
                                           const std::vector<bool>& observed,
                                           const SmootherOptions& options);

}  // namespace fsc::face

#endif  // FSC_CORE_FACE_LANDMARK_SMOOTHER_H_
