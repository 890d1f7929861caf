// LPA-ICI smoothing of landmark trajectories, on the similarity pose and the normalised shape.
#include "core/face/landmark_smoother.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "core/face/alignment.h"

namespace fsc::face {
namespace {

// The pose's and the shape's settings at strength 1, chosen on stability_bench (bench/README.md).
// Both use twice the general ICI threshold: the landmark net's errors on compressed video are
// correlated from frame to frame, which third differences (scaled for white noise) do not see, so
// long windows look biased to the ICI sooner than they are; the bench's jitter fell as the
// threshold rose to 4, while the unit tests' fast head shake (white noise) still passes there.
// The pose's windows stop at 24 frames each side (longer ones leave a bias on curved motion that
// changes from frame to frame); the shape's use triangular weights.
constexpr double kPoseGamma = 4.0, kPoseMaxHalfWindow = 24;
constexpr double kShapeGamma = 4.0, kShapeMaxHalfWindow = 32;
// FindSteps on the pose: 6 samples each side, 12 standard deviations. The net's errors are
// heavy-tailed and correlated: at 8, dozens of boundaries in Megamind.avi's first 200 frames
// qualify; at 12 the bench's 24-pixel step is found and nothing else in its video.
constexpr int kStepWidth = 6;
constexpr double kStepThreshold = 12;
// Half-window sizes tried, in processed frames (about x1.4 apart).
constexpr double kHalfWindows[] = {0, 1, 2, 3, 4, 6, 8, 11, 16, 22, 32, 45, 64, 90, 128, 180, 256};
constexpr double kEps = 1e-6;

// The observed samples of a group of channels: times increasing, values [channel][sample].
struct Observed {
  std::vector<double> times;
  std::vector<std::vector<double>> values;
};

// The weighted least-squares polynomial of `order` (<= 3) through samples [left, right) of `o`,
// evaluated at `at` per channel, and its variance over sigma^2. Weights are uniform, or
// triangular over half-window `h` (1 - |tau| / (h + 1)). False if the fit is undetermined; all
// samples at `at` give their mean.
bool WeightedFit(const Observed& o, size_t left, size_t right, double at, double h, int order,
                 bool triangular, std::vector<double>* estimate, double* factor) {
  double s[7] = {0, 0, 0, 0, 0, 0, 0}, q[7] = {0, 0, 0, 0, 0, 0, 0};
  const size_t channels = o.values.size();
  std::vector<std::array<double, 4>> y(channels, {0, 0, 0, 0});
  for (size_t k = left; k < right; ++k) {
    const double tau = o.times[k] - at;
    const double w = triangular ? std::max(0.0, 1 - std::fabs(tau) / (h + 1)) : 1.0;
    double p = 1;
    for (int j = 0; j < 7; ++j) s[j] += w * p, q[j] += w * w * p, p *= tau;
    for (size_t c = 0; c < channels; ++c) {
      const double v = o.values[c][k];
      p = w * v;
      for (int j = 0; j < 4; ++j) y[c][j] += p, p *= tau;
    }
  }
  estimate->resize(channels);
  if (s[0] <= 0) return false;
  const int n = s[2] <= 1e-12 ? 1 : order + 1;
  cv::Matx44d normal = cv::Matx44d::eye(), second = cv::Matx44d::zeros();
  double scale = 1;
  for (int r = 0; r < n; ++r) {
    for (int c = 0; c < n; ++c) normal(r, c) = s[r + c], second(r, c) = q[r + c];
    scale *= std::max(1e-300, normal(r, r));
  }
  const double det = cv::determinant(normal);
  if (!(det > 1e-9 * scale)) return false;
  const cv::Matx44d inverse = normal.inv(cv::DECOMP_LU);
  cv::Vec4d row(0, 0, 0, 0);
  for (int j = 0; j < n; ++j) row[j] = inverse(0, j);
  for (size_t c = 0; c < channels; ++c) {
    double v = 0;
    for (int j = 0; j < n; ++j) v += row[j] * y[c][j];
    (*estimate)[c] = v;
  }
  *factor = (row.t() * second * row)(0);
  return *factor > 0;
}

struct Estimate {
  bool valid = false;
  std::vector<double> value;
  double factor = 0;
};

// The ICI rule for one kind of fit: the estimate of the largest window whose confidence
// intervals, on every channel, intersect those of all smaller windows.
Estimate IciEstimate(const Observed& o, double at, LocalFit fit, const std::vector<double>& sigma,
                     double gamma, double max_half, bool triangular) {
  const size_t channels = sigma.size();
  std::vector<double> lower(channels, -std::numeric_limits<double>::infinity());
  std::vector<double> upper(channels, std::numeric_limits<double>::infinity());
  // The window is [left, right) in samples; it grows outwards from `at`.
  const size_t start =
      std::lower_bound(o.times.begin(), o.times.end(), at - kEps) - o.times.begin();
  size_t left = start, right = start;
  Estimate best, trial;
  for (double h : kHalfWindows) {
    if (h > max_half) break;
    const double from = fit.side == FitSide::kRight ? at : at - h;
    const double to = fit.side == FitSide::kLeft ? at : at + h;
    bool grew = false;
    for (; right < o.times.size() && o.times[right] <= to + kEps; ++right) grew = true;
    for (; left > 0 && o.times[left - 1] >= from - kEps; --left) grew = true;
    // Triangular weights change with h even when no sample entered.
    if (!grew && best.valid && !triangular) continue;
    if (!WeightedFit(o, left, right, at, h, fit.order, triangular, &trial.value, &trial.factor)) {
      continue;
    }
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

// Every channel's noise; empty when one is unknown.
std::vector<double> GroupNoise(const SampledSignals& group) {
  std::vector<double> sigma;
  for (size_t c = 0; c < group.channels.size(); ++c) {
    const double s = EstimateNoise(group, static_cast<int>(c), 5);
    if (s < 0) return {};
    sigma.push_back(std::max(s, 1e-9));
  }
  return sigma;
}

// Smooths a group of channels in place, the pieces between `breaks` (increasing sample indices)
// apart; false (untouched) when a channel's noise is unknown.
bool SmoothGroup(SampledSignals* group, const LpaIciOptions& options,
                 const std::vector<size_t>& breaks = {}) {
  const std::vector<double> sigma = GroupNoise(*group);
  if (sigma.empty()) return false;
  std::vector<size_t> bounds = {0};
  for (size_t b : breaks) bounds.push_back(b);
  bounds.push_back(group->times.size());
  for (size_t i = 0; i + 1 < bounds.size(); ++i) {
    const size_t a = bounds[i], b = bounds[i + 1];
    if (b <= a) continue;
    SampledSignals piece;
    piece.times.assign(group->times.begin() + a, group->times.begin() + b);
    piece.observed.assign(group->observed.begin() + a, group->observed.begin() + b);
    for (const std::vector<double>& channel : group->channels) {
      piece.channels.emplace_back(channel.begin() + a, channel.begin() + b);
    }
    const std::vector<std::vector<double>> out = LpaIciSmooth(piece, sigma, options);
    for (size_t c = 0; c < out.size(); ++c) {
      std::copy(out[c].begin(), out[c].end(), group->channels[c].begin() + a);
    }
  }
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

// The pose's four signals smoothed as one group, cut at the abrupt moves of any.
std::vector<Pose> SmoothPoses(const std::vector<double>& times, const std::vector<bool>& observed,
                              const std::vector<Pose>& poses, const SmootherOptions& options) {
  SampledSignals group{times, observed, std::vector<std::vector<double>>(4)};
  for (const Pose& p : poses) {
    group.channels[0].push_back(p.cx), group.channels[1].push_back(p.cy);
    group.channels[2].push_back(p.log_scale), group.channels[3].push_back(p.angle);
  }
  const std::vector<double> sigma = GroupNoise(group);
  if (sigma.empty()) return poses;
  LpaIciOptions pose_options;
  // Quadratic fits follow curved motion over long windows; a centred linear one at the general
  // threshold (short where the motion curves) steadies the ends of a piece, where a quadratic
  // only extrapolates.
  const double root = std::sqrt(options.strength);
  pose_options.fits = {{FitSide::kCentred, 1, LpaIciOptions().gamma * root},
                       {FitSide::kLeft, 2},
                       {FitSide::kRight, 2},
                       {FitSide::kCentred, 2}};
  pose_options.gamma = kPoseGamma * root;
  pose_options.max_half_window = std::max(1.0, kPoseMaxHalfWindow * options.strength);
  SmoothGroup(&group, pose_options, FindSteps(group, sigma, kStepWidth, kStepThreshold));
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
                                              const LpaIciOptions& options) {
  Observed observed;
  observed.values.resize(signals.channels.size());
  for (size_t k = 0; k < signals.times.size(); ++k) {
    if (!signals.observed[k]) continue;
    observed.times.push_back(signals.times[k]);
    for (size_t c = 0; c < signals.channels.size(); ++c) {
      observed.values[c].push_back(signals.channels[c][k]);
    }
  }
  const double max_half = std::max(1.0, options.max_half_window);
  std::vector<std::vector<double>> out = signals.channels;
  for (size_t k = 0; k < signals.times.size(); ++k) {
    // The fits' estimates averaged by inverse variance (sigma cancels: it is per channel).
    std::vector<double> sum(sigma.size(), 0.0);
    double weight = 0;
    for (const LocalFit& fit : options.fits) {
      const Estimate e =
          IciEstimate(observed, signals.times[k], fit, sigma,
                      fit.gamma > 0 ? fit.gamma : options.gamma, max_half, options.triangular);
      if (!e.valid) continue;
      for (size_t c = 0; c < sigma.size(); ++c) sum[c] += e.value[c] / e.factor;
      weight += 1 / e.factor;
    }
    if (weight <= 0) continue;
    for (size_t c = 0; c < sigma.size(); ++c) out[c][k] = sum[c] / weight;
  }
  return out;
}

std::vector<size_t> FindSteps(const SampledSignals& signals, const std::vector<double>& sigma,
                              int width, double threshold) {
  Observed o;
  std::vector<size_t> index;
  o.values.resize(signals.channels.size());
  for (size_t k = 0; k < signals.times.size(); ++k) {
    if (!signals.observed[k]) continue;
    index.push_back(k);
    o.times.push_back(signals.times[k]);
    for (size_t c = 0; c < signals.channels.size(); ++c)
      o.values[c].push_back(signals.channels[c][k]);
  }
  const size_t w = static_cast<size_t>(width);
  std::vector<double> z(index.size(), 0.0);
  for (size_t j = w; j + w <= index.size(); ++j) {
    const double at = (o.times[j - 1] + o.times[j]) / 2;
    std::vector<double> left, right;
    double left_factor = 0, right_factor = 0;
    if (!WeightedFit(o, j - w, j, at, 0, 1, 0, &left, &left_factor) ||
        !WeightedFit(o, j, j + w, at, 0, 1, 0, &right, &right_factor)) {
      continue;
    }
    for (size_t c = 0; c < sigma.size(); ++c) {
      z[j] = std::max(
          z[j], std::fabs(left[c] - right[c]) / (sigma[c] * std::sqrt(left_factor + right_factor)));
    }
  }
  std::vector<size_t> steps;
  for (size_t j = 0; j < z.size(); ++j) {
    if (z[j] <= threshold) continue;
    bool peak = true;
    for (size_t i = j >= w / 2 ? j - w / 2 : 0; i <= std::min(z.size() - 1, j + w / 2) && peak;
         ++i) {
      peak = i == j || (i < j ? z[i] < z[j] : z[i] <= z[j]);
    }
    if (peak) steps.push_back(index[j]);
  }
  return steps;
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
  LpaIciOptions shape_options;
  shape_options.gamma = kShapeGamma * std::sqrt(options.strength);
  shape_options.max_half_window = std::max(1.0, kShapeMaxHalfWindow * options.strength);
  shape_options.triangular = true;
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
    SmoothGroup(&shape, shape_options);
    for (size_t k = 0; k < n; ++k) {
      out[k][i] = FromShape(smooth[k], {shape.channels[0][k], shape.channels[1][k]});
    }
  }
  return out;
}

}  // namespace fsc::face
