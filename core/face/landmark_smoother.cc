// LPA-ICI smoothing of landmark trajectories, on the similarity pose and the normalised shape.
#include "core/face/landmark_smoother.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/face/alignment.h"

namespace fsc::face {
namespace {

// ICI threshold and longest half-window at strength 1. Gamma 2 keeps a window while its
// estimate stays within ~2 standard deviations of every shorter window's.
constexpr double kGamma = 2.0;
constexpr double kMaxHalfWindow = 32;
// Half-window sizes tried, in processed frames (about x1.4 apart).
constexpr double kHalfWindows[] = {0, 1, 2, 3, 4, 6, 8, 11, 16, 22, 32, 45, 64, 90, 128, 180, 256};

enum class Direction { kLeft, kRight, kCentred };

// Prefix sums of the observed samples, so any window's linear fit costs O(channels).
class WindowSums {
 public:
  explicit WindowSums(const SampledSignals& s) : channels_(s.channels.size()) {
    origin_ = s.times.empty() ? 0 : s.times.front();
    t_.push_back(0), tt_.push_back(0);
    y_.assign(channels_, {0.0});
    ty_.assign(channels_, {0.0});
    for (size_t k = 0; k < s.times.size(); ++k) {
      if (!s.observed[k]) continue;
      const double t = s.times[k] - origin_;
      times_.push_back(t);
      t_.push_back(t_.back() + t);
      tt_.push_back(tt_.back() + t * t);
      for (size_t c = 0; c < channels_; ++c) {
        y_[c].push_back(y_[c].back() + s.channels[c][k]);
        ty_[c].push_back(ty_[c].back() + t * s.channels[c][k]);
      }
    }
  }

  // The linear fit over observed samples with times in [from, to], evaluated at `at`: estimates
  // per channel and the variance factor (variance / sigma^2). False when it is undetermined.
  bool Fit(double at, double from, double to, std::vector<double>* estimate, double* factor) const {
    at -= origin_, from -= origin_, to -= origin_;
    constexpr double kEps = 1e-6;
    const size_t lo = std::lower_bound(times_.begin(), times_.end(), from - kEps) - times_.begin();
    const size_t hi = std::upper_bound(times_.begin(), times_.end(), to + kEps) - times_.begin();
    if (hi <= lo) return false;
    const double n = static_cast<double>(hi - lo);
    const double st = t_[hi] - t_[lo];
    const double s1 = st - n * at;
    const double s2 = (tt_[hi] - tt_[lo]) - 2 * at * st + n * at * at;
    const double det = n * s2 - s1 * s1;
    estimate->resize(channels_);
    if (det > 1e-9 * std::max(1.0, n * s2)) {
      for (size_t c = 0; c < channels_; ++c) {
        const double sy = y_[c][hi] - y_[c][lo];
        const double sty = (ty_[c][hi] - ty_[c][lo]) - at * sy;
        (*estimate)[c] = (s2 * sy - s1 * sty) / det;
      }
      *factor = s2 / det;
      return true;
    }
    if (s2 > 1e-12) return false;  // one sample away from `at`: no slope to extrapolate with
    for (size_t c = 0; c < channels_; ++c) (*estimate)[c] = (y_[c][hi] - y_[c][lo]) / n;
    *factor = 1 / n;
    return true;
  }

 private:
  size_t channels_;
  double origin_ = 0;
  std::vector<double> times_, t_, tt_;
  std::vector<std::vector<double>> y_, ty_;
};

struct Estimate {
  bool valid = false;
  std::vector<double> value;
  double factor = 0;
};

// The ICI rule along one direction: the estimate of the largest window whose confidence
// intervals, on every channel, intersect those of all smaller windows.
Estimate IciEstimate(const WindowSums& sums, double at, Direction direction,
                     const std::vector<double>& sigma, double gamma, double max_half) {
  const size_t channels = sigma.size();
  std::vector<double> lower(channels, -std::numeric_limits<double>::infinity());
  std::vector<double> upper(channels, std::numeric_limits<double>::infinity());
  Estimate best;
  Estimate trial;
  for (double h : kHalfWindows) {
    if (h > max_half) break;
    const double from = direction == Direction::kRight ? at : at - h;
    const double to = direction == Direction::kLeft ? at : at + h;
    if (!sums.Fit(at, from, to, &trial.value, &trial.factor)) continue;
    std::vector<double> new_lower(channels), new_upper(channels);
    bool intersect = true;
    for (size_t c = 0; c < channels && intersect; ++c) {
      const double half = gamma * sigma[c] * std::sqrt(trial.factor);
      new_lower[c] = std::max(lower[c], trial.value[c] - half);
      new_upper[c] = std::min(upper[c], trial.value[c] + half);
      intersect = new_lower[c] <= new_upper[c];
    }
    if (!intersect) break;
    lower.swap(new_lower);
    upper.swap(new_upper);
    best = trial;
    best.valid = true;
  }
  return best;
}

// Similarity pose of 68 landmarks relative to the mean face, and the shape in the pose's frame.
struct Pose {
  double cx = 0, cy = 0, log_scale = 0, angle = 0;
};

const std::vector<cv::Point2d>& ReferenceShape() {
  static const std::vector<cv::Point2d> shape = [] {
    std::vector<cv::Point2d> q;
    cv::Point2d mean(0, 0);
    for (const cv::Point2f& p : MeanFace68()) q.emplace_back(p.x, p.y), mean += q.back();
    mean /= static_cast<double>(q.size());
    double sq = 0;
    for (cv::Point2d& p : q) p -= mean, sq += p.dot(p);
    const double rms = std::sqrt(sq / q.size());
    for (cv::Point2d& p : q) p /= rms;
    return q;
  }();
  return shape;
}

Pose FitPose(const Landmarks& points) {
  const std::vector<cv::Point2d>& q = ReferenceShape();
  Pose pose;
  for (const cv::Point2f& p : points) pose.cx += p.x, pose.cy += p.y;
  pose.cx /= points.size(), pose.cy /= points.size();
  double a = 0, b = 0, qq = 0;
  for (size_t i = 0; i < points.size(); ++i) {
    const double px = points[i].x - pose.cx, py = points[i].y - pose.cy;
    a += q[i].x * px + q[i].y * py;
    b += q[i].x * py - q[i].y * px;
    qq += q[i].dot(q[i]);
  }
  pose.angle = std::atan2(b, a);
  pose.log_scale = std::log(std::max(1e-9, std::hypot(a, b) / qq));
  return pose;
}

// Rotates and scales (inverse: into the pose's frame; forward: back to pixels).
cv::Point2d ToShape(const Pose& pose, const cv::Point2f& p) {
  const double s = std::exp(-pose.log_scale), c = std::cos(pose.angle), n = std::sin(pose.angle);
  const double x = p.x - pose.cx, y = p.y - pose.cy;
  return {s * (c * x + n * y), s * (-n * x + c * y)};
}

cv::Point2f FromShape(const Pose& pose, const cv::Point2d& r) {
  const double s = std::exp(pose.log_scale), c = std::cos(pose.angle), n = std::sin(pose.angle);
  return cv::Point2f(static_cast<float>(pose.cx + s * (c * r.x - n * r.y)),
                     static_cast<float>(pose.cy + s * (n * r.x + c * r.y)));
}

// Smooths a group of channels in place; false (untouched) when a channel's noise is unknown.
bool SmoothGroup(SampledSignals* group, const SmootherOptions& options) {
  std::vector<double> sigma;
  for (size_t c = 0; c < group->channels.size(); ++c) {
    const double s = EstimateNoise(*group, static_cast<int>(c), 1);
    if (s < 0) return false;
    sigma.push_back(std::max(s, 1e-9));
  }
  group->channels = LpaIciSmooth(*group, sigma, options);
  return true;
}

// Poses along a track, the angle unwrapped so it is continuous.
std::vector<Pose> FitPoses(const std::vector<Landmarks>& landmarks) {
  std::vector<Pose> poses;
  for (const Landmarks& l : landmarks) {
    poses.push_back(FitPose(l));
    if (poses.size() > 1) {
      const double previous = poses[poses.size() - 2].angle;
      poses.back().angle = previous + std::remainder(poses.back().angle - previous, 2 * M_PI);
    }
  }
  return poses;
}

// The pose's four signals smoothed as one group: an abrupt move of any shortens all windows.
std::vector<Pose> SmoothPoses(const std::vector<double>& times, const std::vector<bool>& observed,
                              const std::vector<Pose>& poses, const SmootherOptions& options) {
  SampledSignals group{times, observed, std::vector<std::vector<double>>(4)};
  for (const Pose& p : poses) {
    group.channels[0].push_back(p.cx), group.channels[1].push_back(p.cy);
    group.channels[2].push_back(p.log_scale), group.channels[3].push_back(p.angle);
  }
  if (!SmoothGroup(&group, options)) return poses;
  std::vector<Pose> out(poses.size());
  for (size_t k = 0; k < poses.size(); ++k) {
    out[k] = {group.channels[0][k], group.channels[1][k], group.channels[2][k],
              group.channels[3][k]};
  }
  return out;
}

}  // namespace

double EstimateNoise(const SampledSignals& signals, int channel, int min_triples) {
  const std::vector<double>& y = signals.channels[channel];
  std::vector<double> d;
  for (size_t k = 1; k + 1 < y.size(); ++k) {
    if (!signals.observed[k - 1] || !signals.observed[k] || !signals.observed[k + 1]) continue;
    const double left = signals.times[k] - signals.times[k - 1];
    const double right = signals.times[k + 1] - signals.times[k];
    if (std::fabs(left - right) > 1e-6) continue;
    d.push_back(std::fabs(y[k - 1] - 2 * y[k] + y[k + 1]));
  }
  if (static_cast<int>(d.size()) < min_triples || d.empty()) return -1;
  std::nth_element(d.begin(), d.begin() + d.size() / 2, d.end());
  return 1.4826 * d[d.size() / 2] / std::sqrt(6.0);
}

std::vector<std::vector<double>> LpaIciSmooth(const SampledSignals& signals,
                                              const std::vector<double>& sigma,
                                              const SmootherOptions& options) {
  const WindowSums sums(signals);
  const double gamma = kGamma * std::sqrt(options.strength);
  const double max_half = std::max(1.0, std::round(kMaxHalfWindow * options.strength));
  std::vector<std::vector<double>> out = signals.channels;
  for (size_t k = 0; k < signals.times.size(); ++k) {
    std::vector<double> sum(sigma.size(), 0.0);
    double weight = 0;
    for (Direction d : {Direction::kLeft, Direction::kRight, Direction::kCentred}) {
      const Estimate e = IciEstimate(sums, signals.times[k], d, sigma, gamma, max_half);
      if (!e.valid) continue;
      for (size_t c = 0; c < sigma.size(); ++c) sum[c] += e.value[c] / e.factor;
      weight += 1 / e.factor;
    }
    if (weight <= 0) continue;
    for (size_t c = 0; c < sigma.size(); ++c) out[c][k] = sum[c] / weight;
  }
  return out;
}

std::vector<Landmarks> SmoothLandmarkTrack(const std::vector<double>& times,
                                           const std::vector<Landmarks>& landmarks,
                                           const std::vector<bool>& observed,
                                           const SmootherOptions& options) {
  const size_t n = landmarks.size();
  const size_t points = ReferenceShape().size();
  if (std::count(observed.begin(), observed.end(), true) < 3) return landmarks;
  for (const Landmarks& l : landmarks) {
    if (l.size() != points) return landmarks;
  }
  const std::vector<Pose> raw = FitPoses(landmarks);
  const std::vector<Pose> smooth = SmoothPoses(times, observed, raw, options);
  // Each landmark's coordinates in its frame's raw pose (the shape), smoothed as one group and
  // put back with the smoothed pose.
  std::vector<Landmarks> out(n, Landmarks(points));
  for (size_t i = 0; i < points; ++i) {
    SampledSignals shape{times, observed,
                         std::vector<std::vector<double>>(2, std::vector<double>(n))};
    for (size_t k = 0; k < n; ++k) {
      const cv::Point2d r = ToShape(raw[k], landmarks[k][i]);
      shape.channels[0][k] = r.x, shape.channels[1][k] = r.y;
    }
    SmoothGroup(&shape, options);
    for (size_t k = 0; k < n; ++k) {
      out[k][i] = FromShape(smooth[k], {shape.channels[0][k], shape.channels[1][k]});
    }
  }
  return out;
}

}  // namespace fsc::face
