// LPA-ICI smoothing of landmark trajectories, on the similarity pose and the normalised shape.
#include "core/face/landmark_smoother.h"

#include <algorithm>
#include <array>
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
constexpr double kEps = 1e-6;

enum class Direction { kLeft, kRight, kCentred };

// A local polynomial fit: the direction of its windows and its order (1: linear, unbiased for
// steady motion; 2: quadratic, unbiased for steady acceleration, noisier in the same window).
struct FitKind {
  Direction direction;
  int order;
};
constexpr FitKind kFits[] = {{Direction::kLeft, 1},
                             {Direction::kRight, 1},
                             {Direction::kCentred, 1},
                             {Direction::kCentred, 2}};

// The observed samples of a group of channels: times increasing, values [channel][sample].
struct Observed {
  std::vector<double> times;
  std::vector<std::vector<double>> values;
};

// Moments of the samples of a window around `at` (tau = t - at), grown sample by sample: the
// windows of one ICI run are nested, so each fit costs O(channels).
class Moments {
 public:
  Moments(const Observed& o, double at) : o_(o), at_(at), y_(o.values.size()) {}

  void Add(size_t k) {
    const double tau = o_.times[k] - at_;
    double p = 1;
    for (double& m : m_) m += p, p *= tau;
    for (size_t c = 0; c < y_.size(); ++c) {
      const double v = o_.values[c][k];
      y_[c][0] += v, y_[c][1] += tau * v, y_[c][2] += tau * tau * v;
    }
  }

  // The fit's value at `at` per channel and its variance over sigma^2; false if undetermined.
  bool Fit(int order, std::vector<double>* estimate, double* factor) const {
    estimate->resize(y_.size());
    if (order == 2) return FitQuadratic(estimate, factor);
    const double det = m_[0] * m_[2] - m_[1] * m_[1];
    if (m_[0] > 0 && det > 1e-9 * std::max(1.0, m_[0] * m_[2])) {
      for (size_t c = 0; c < y_.size(); ++c) {
        (*estimate)[c] = (m_[2] * y_[c][0] - m_[1] * y_[c][1]) / det;
      }
      *factor = m_[2] / det;
      return true;
    }
    // All samples at `at` (a single one): their mean. One sample elsewhere: no slope to use.
    if (m_[0] == 0 || m_[2] > 1e-12) return false;
    for (size_t c = 0; c < y_.size(); ++c) (*estimate)[c] = y_[c][0] / m_[0];
    *factor = 1 / m_[0];
    return true;
  }

 private:
  bool FitQuadratic(std::vector<double>* estimate, double* factor) const {
    const cv::Matx33d normal(m_[0], m_[1], m_[2], m_[1], m_[2], m_[3], m_[2], m_[3], m_[4]);
    const double det = cv::determinant(normal);
    if (!(det > 1e-9 * std::max(1.0, m_[0] * m_[2] * m_[4]))) return false;
    const cv::Matx33d inverse = normal.inv();
    for (size_t c = 0; c < y_.size(); ++c) {
      (*estimate)[c] =
          inverse(0, 0) * y_[c][0] + inverse(0, 1) * y_[c][1] + inverse(0, 2) * y_[c][2];
    }
    *factor = inverse(0, 0);
    return true;
  }

  const Observed& o_;
  double at_;
  double m_[5] = {0, 0, 0, 0, 0};         // sums of tau^0..tau^4
  std::vector<std::array<double, 3>> y_;  // per channel, sums of tau^0..2 * value
};

struct Estimate {
  bool valid = false;
  std::vector<double> value;
  double factor = 0;
};

// The ICI rule for one kind of fit: the estimate of the largest window whose confidence
// intervals, on every channel, intersect those of all smaller windows.
Estimate IciEstimate(const Observed& o, double at, FitKind fit, const std::vector<double>& sigma,
                     double gamma, double max_half) {
  const size_t channels = sigma.size();
  std::vector<double> lower(channels, -std::numeric_limits<double>::infinity());
  std::vector<double> upper(channels, std::numeric_limits<double>::infinity());
  Moments moments(o, at);
  // The window is [left, right) in samples; it grows outwards from `at`.
  const size_t start =
      std::lower_bound(o.times.begin(), o.times.end(), at - kEps) - o.times.begin();
  size_t left = start, right = start;
  Estimate best, trial;
  for (double h : kHalfWindows) {
    if (h > max_half) break;
    const double from = fit.direction == Direction::kRight ? at : at - h;
    const double to = fit.direction == Direction::kLeft ? at : at + h;
    bool grew = false;
    for (; right < o.times.size() && o.times[right] <= to + kEps; ++right)
      moments.Add(right), grew = true;
    for (; left > 0 && o.times[left - 1] >= from - kEps; --left) moments.Add(left - 1), grew = true;
    if (!grew && best.valid) continue;
    if (!moments.Fit(fit.order, &trial.value, &trial.factor)) continue;
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
    const double s = EstimateNoise(*group, static_cast<int>(c), 5);
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

// The `order`-th differences (2 or 3) of a channel over runs of evenly spaced observed samples.
std::vector<double> Differences(const SampledSignals& s, int channel, int order) {
  static constexpr double kCoefficients[2][4] = {{1, -2, 1, 0}, {1, -3, 3, -1}};
  const double* w = kCoefficients[order - 2];
  const std::vector<double>& y = s.channels[channel];
  std::vector<double> d;
  for (size_t k = 0; k + order < y.size(); ++k) {
    bool even = true;
    for (int j = 0; j <= order && even; ++j) {
      even =
          s.observed[k + j] &&
          (j < 2 || std::fabs(s.times[k + j] - 2 * s.times[k + j - 1] + s.times[k + j - 2]) < kEps);
    }
    if (!even) continue;
    double v = 0;
    for (int j = 0; j <= order; ++j) v += w[j] * y[k + j];
    d.push_back(v);
  }
  return d;
}

double MedianAbs(std::vector<double> v) {
  for (double& x : v) x = std::fabs(x);
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

}  // namespace

double EstimateNoise(const SampledSignals& signals, int channel, int min_runs) {
  for (int order : {3, 2}) {
    const std::vector<double> d = Differences(signals, channel, order);
    if (d.empty() || static_cast<int>(d.size()) < min_runs) continue;
    return MedianAbs(d) / 0.6745 / std::sqrt(order == 3 ? 20.0 : 6.0);
  }
  return -1;
}

std::vector<std::vector<double>> LpaIciSmooth(const SampledSignals& signals,
                                              const std::vector<double>& sigma,
                                              const SmootherOptions& options) {
  Observed observed;
  observed.values.resize(signals.channels.size());
  for (size_t k = 0; k < signals.times.size(); ++k) {
    if (!signals.observed[k]) continue;
    observed.times.push_back(signals.times[k]);
    for (size_t c = 0; c < signals.channels.size(); ++c) {
      observed.values[c].push_back(signals.channels[c][k]);
    }
  }
  const double gamma = kGamma * std::sqrt(options.strength);
  const double max_half = std::max(1.0, std::round(kMaxHalfWindow * options.strength));
  std::vector<std::vector<double>> out = signals.channels;
  for (size_t k = 0; k < signals.times.size(); ++k) {
    // The fits' estimates averaged by inverse variance (sigma cancels: it is per channel).
    std::vector<double> sum(sigma.size(), 0.0);
    double weight = 0;
    for (const FitKind& fit : kFits) {
      const Estimate e = IciEstimate(observed, signals.times[k], fit, sigma, gamma, max_half);
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
