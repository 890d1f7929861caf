// Tests for steady faces on synthetic trajectories with known answers: a still face gets
// steadier, smooth motion is tracked without lag, an abrupt step is followed within a frame, a
// shot cut is not crossed, crossing faces keep their tracks, dropouts are filled and long gaps
// split tracks, re-running is idempotent and strength 0 restores the raw landmarks; plus the
// frame histogram, shot cuts and option validation; and the smoother against a constant-velocity
// RTS smoother, the alternative it was chosen over; its step finder (a step, not a curve or a
// gap); and curved motion with correlated noise, a step and a gap, as the bench moves its photos.
#include "core/face/stabilize.h"

#include <gtest/gtest.h>

#include <cmath>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>

#include "core/face/alignment.h"
#include "core/face/face_tracks.h"
#include "core/face/landmark_smoother.h"
#include "core/face/mask.h"
#include "core/face/shot_cuts.h"

namespace fsc::face {
namespace {

constexpr int kAlignedSize = 64;  // small crops and masks keep the tests fast
constexpr int kMaskSize = 32;
constexpr float kFaceSize = 150;  // mean face scale in pixels (inter-ocular ~55 px)

// The true landmarks of a face whose mean-face square is placed at (x, y), `size` wide and
// rotated by `angle` about its centre.
Landmarks TrueFace(double x, double y, double size = kFaceSize, double angle = 0) {
  Landmarks out;
  const double c = std::cos(angle), s = std::sin(angle);
  for (const cv::Point2f& p : MeanFace68()) {
    const double u = (p.x - 0.5) * size, v = (p.y - 0.5) * size;
    out.emplace_back(static_cast<float>(x + size / 2 + c * u - s * v),
                     static_cast<float>(y + size / 2 + s * u + c * v));
  }
  return out;
}

Landmarks AddNoise(const Landmarks& points, double sigma, std::mt19937* rng) {
  std::normal_distribution<double> noise(0, sigma);
  Landmarks out;
  for (const cv::Point2f& p : points) {
    out.emplace_back(static_cast<float>(p.x + noise(*rng)), static_cast<float>(p.y + noise(*rng)));
  }
  return out;
}

// The landmark net's wobble: each point's own noise plus a shift and scale of the whole face
// (as a jittered detector box gives), `sigma` pixels each.
Landmarks Wobble(const Landmarks& points, double sigma, std::mt19937* rng) {
  std::normal_distribution<double> noise(0, sigma);
  const cv::Point2f shift(static_cast<float>(noise(*rng)), static_cast<float>(noise(*rng)));
  const double scale = 1 + noise(*rng) / kFaceSize;
  cv::Point2f centre(0, 0);
  for (const cv::Point2f& p : points) centre += p / static_cast<float>(points.size());
  Landmarks out;
  for (const cv::Point2f& p : AddNoise(points, sigma, rng)) {
    out.push_back(centre + (p - centre) * static_cast<float>(scale) + shift);
  }
  return out;
}

// A face as the extractor writes it: box, landmarks, the transform and masks they give.
proto::Face MakeFace(const Landmarks& landmarks) {
  proto::Face face;
  const cv::Rect2f box = cv::boundingRect(landmarks);
  face.mutable_box()->set_x(box.x);
  face.mutable_box()->set_y(box.y);
  face.mutable_box()->set_width(box.width);
  face.mutable_box()->set_height(box.height);
  face.set_score(0.9f);
  for (const cv::Point2f& p : landmarks) {
    proto::Point* point = face.add_landmarks();
    point->set_x(p.x);
    point->set_y(p.y);
  }
  face.set_aligned_size(kAlignedSize);
  const cv::Mat transform = *AlignmentTransform(landmarks, kAlignedSize);
  for (int r = 0; r < 2; ++r) {
    for (int c = 0; c < 3; ++c) face.mutable_transform()->add_m(transform.at<double>(r, c));
  }
  Landmarks scaled;
  for (const cv::Point2f& p : TransformPoints(transform, landmarks)) {
    scaled.push_back(p * (static_cast<float>(kMaskSize) / kAlignedSize));
  }
  const cv::Mat mask = BuildLandmarkMask(scaled, {kMaskSize, kMaskSize}, MaskType::kComponents);
  std::vector<uchar> png;
  cv::imencode(".png", mask, png);
  proto::Mask* stored = face.add_masks();
  stored->set_kind(proto::MASK_COMPONENTS);
  stored->set_size(kMaskSize);
  stored->set_png(png.data(), png.size());
  face.set_face_file("face.png");
  return face;
}

std::vector<float> UniformHistogram(int shot) {
  std::vector<float> h(kFrameHistogramBins, 0.f);
  h[shot % kFrameHistogramBins] = 1.f;  // each shot its own colour
  return h;
}

proto::Frame* AddFrame(proto::Alignments* a, int64_t index, int shot = 0) {
  proto::Frame* frame = a->add_frames();
  frame->set_index(index);
  for (float v : UniformHistogram(shot)) frame->add_histogram(v);
  return frame;
}

Landmarks FaceLandmarks(const proto::Face& face) {
  Landmarks out;
  for (const proto::Point& p : face.landmarks()) out.emplace_back(p.x(), p.y());
  return out;
}

double RmsError(const Landmarks& a, const Landmarks& b) {
  double sq = 0;
  for (size_t i = 0; i < a.size(); ++i) sq += std::pow(cv::norm(a[i] - b[i]), 2);
  return std::sqrt(sq / a.size());
}

cv::Point2f Centroid(const Landmarks& l) {
  cv::Point2f c(0, 0);
  for (const cv::Point2f& p : l) c += p;
  return c / static_cast<float>(l.size());
}

// One face per frame following `truth`, wobbling by `sigma`; frames with an empty truth have none.
proto::Alignments SingleTrack(const std::vector<Landmarks>& truth, double sigma, uint32_t seed,
                              int cut_at = -1) {
  std::mt19937 rng(seed);
  proto::Alignments a;
  for (size_t t = 0; t < truth.size(); ++t) {
    proto::Frame* frame = AddFrame(&a, static_cast<int64_t>(t), cut_at >= 0 && t >= size_t(cut_at));
    if (!truth[t].empty()) *frame->add_faces() = MakeFace(Wobble(truth[t], sigma, &rng));
  }
  return a;
}

std::vector<Landmarks> Smoothed(const proto::Alignments& a) {
  std::vector<Landmarks> out;
  for (const proto::Frame& f : a.frames()) out.push_back(FaceLandmarks(f.faces(0)));
  return out;
}

// RMS over frames of the landmark error to the truth, and of the frame-to-frame change of that
// error (the jitter a viewer sees).
struct Figures {
  double error = 0, jitter = 0;
};
Figures Measure(const std::vector<Landmarks>& estimate, const std::vector<Landmarks>& truth) {
  Figures f;
  std::vector<Landmarks> err;
  for (size_t t = 0; t < truth.size(); ++t) {
    Landmarks e;
    for (size_t i = 0; i < truth[t].size(); ++i) e.push_back(estimate[t][i] - truth[t][i]);
    err.push_back(e);
    f.error += std::pow(RmsError(estimate[t], truth[t]), 2);
    if (t > 0) f.jitter += std::pow(RmsError(e, err[t - 1]), 2);
  }
  f.error = std::sqrt(f.error / truth.size());
  f.jitter = std::sqrt(f.jitter / (truth.size() - 1));
  return f;
}

TEST(StabilizeTest, StillFaceGetsSteadier) {
  std::vector<Landmarks> truth(150, TrueFace(200, 100));
  proto::Alignments a = SingleTrack(truth, 1.0, 1);
  const Figures raw = Measure(Smoothed(a), truth);
  ASSERT_TRUE(StabilizeAlignments({}, &a).ok());
  const Figures smooth = Measure(Smoothed(a), truth);
  std::printf("still face: error %.3f -> %.3f px, jitter %.3f -> %.3f px (%.0f%% of raw)\n",
              raw.error, smooth.error, raw.jitter, smooth.jitter, 100 * smooth.jitter / raw.jitter);
  EXPECT_LE(smooth.error, raw.error / 3);
  EXPECT_LE(smooth.jitter, raw.jitter / 3);
  EXPECT_EQ(a.smoothing().tracks(), 1);
  for (const proto::Frame& f : a.frames()) {
    EXPECT_EQ(f.faces(0).track_id(), 1);
    EXPECT_EQ(f.faces(0).raw_landmarks_size(), 68);
  }
}

TEST(StabilizeTest, SmoothMotionIsFollowedWithoutLag) {
  // Pan, zoom and slow rotation together, as the bench moves its photos.
  std::vector<Landmarks> truth;
  for (int t = 0; t < 150; ++t) {
    truth.push_back(TrueFace(100 + 1.5 * t, 80 + 20 * std::sin(t / 25.0), 150 * (1 + 0.002 * t),
                             0.2 * std::sin(t / 40.0)));
  }
  proto::Alignments a = SingleTrack(truth, 1.0, 2);
  const Figures raw = Measure(Smoothed(a), truth);
  ASSERT_TRUE(StabilizeAlignments({}, &a).ok());
  const Figures smooth = Measure(Smoothed(a), truth);
  std::printf("moving face: error %.3f -> %.3f px, jitter %.3f -> %.3f px (%.0f%% of raw)\n",
              raw.error, smooth.error, raw.jitter, smooth.jitter, 100 * smooth.jitter / raw.jitter);
  EXPECT_LE(smooth.error, raw.error / 2);
  EXPECT_LE(smooth.jitter, raw.jitter / 3);
}

TEST(StabilizeTest, FastShakingIsNotSmoothedAway) {
  // A fast head shake (+-30 px, 20 frames a period): the windows must stay short.
  std::vector<Landmarks> truth;
  for (int t = 0; t < 120; ++t) truth.push_back(TrueFace(200 + 30 * std::sin(t * M_PI / 10), 100));
  proto::Alignments a = SingleTrack(truth, 1.0, 8);
  const Figures raw = Measure(Smoothed(a), truth);
  ASSERT_TRUE(StabilizeAlignments({}, &a).ok());
  const Figures smooth = Measure(Smoothed(a), truth);
  std::printf("shaking face: error %.3f -> %.3f px, jitter %.3f -> %.3f px (%.0f%% of raw)\n",
              raw.error, smooth.error, raw.jitter, smooth.jitter, 100 * smooth.jitter / raw.jitter);
  // The pose cannot be smoothed much here (its acceleration is as large as its noise), the
  // shape still can: better than raw, not smeared.
  EXPECT_LE(smooth.error, 0.7 * raw.error);
  EXPECT_LE(smooth.jitter, raw.jitter / 2);
}

TEST(StabilizeTest, AbruptStepIsFollowedWithinAFrame) {
  constexpr int kStep = 60;
  const cv::Point2f jump(30, 12);
  std::vector<Landmarks> truth;
  for (int t = 0; t < 120; ++t)
    truth.push_back(TrueFace(200 + (t >= kStep) * jump.x, 100 + (t >= kStep) * jump.y));
  proto::Alignments a = SingleTrack(truth, 1.0, 3);
  const std::vector<Landmarks> raw = Smoothed(a);
  ASSERT_TRUE(StabilizeAlignments({}, &a).ok());
  EXPECT_EQ(a.smoothing().tracks(), 1);  // no cut: the same track across the step
  const std::vector<Landmarks> out = Smoothed(a);
  const double size = cv::norm(jump);
  for (int t = kStep - 3; t < kStep + 3; ++t) {
    const double miss = cv::norm(Centroid(out[t]) - Centroid(truth[t]));
    std::printf("frame %d: centroid off by %.3f px (%.1f%% of the step)\n", t, miss,
                100 * miss / size);
    EXPECT_LT(miss, 0.1 * size) << "frame " << t;
  }
  // The still part after the step is steady again.
  const std::vector<Landmarks> after(truth.begin() + kStep + 5, truth.end());
  EXPECT_LE(Measure({out.begin() + kStep + 5, out.end()}, after).error,
            Measure({raw.begin() + kStep + 5, raw.end()}, after).error / 3);
}

// The alternative the smoother was chosen over: a constant-velocity Kalman filter with the
// Rauch-Tung-Striebel backward pass, on one signal (process noise q, measurement noise r).
std::vector<double> RtsSmooth(const std::vector<double>& y, double q, double r) {
  const size_t n = y.size();
  const cv::Matx22d f(1, 1, 0, 1), qm(q / 3, q / 2, q / 2, q);
  std::vector<cv::Vec2d> xp(n), xf(n);
  std::vector<cv::Matx22d> pp(n), pf(n);
  cv::Vec2d x(y[0], 0);
  cv::Matx22d p(r, 0, 0, 1e4);
  for (size_t k = 0; k < n; ++k) {
    if (k > 0) x = f * x, p = f * p * f.t() + qm;
    xp[k] = x, pp[k] = p;
    const double gain0 = p(0, 0) / (p(0, 0) + r), gain1 = p(1, 0) / (p(0, 0) + r);
    const double innovation = y[k] - x[0];
    x += cv::Vec2d(gain0 * innovation, gain1 * innovation);
    p = p - cv::Matx22d(gain0 * p(0, 0), gain0 * p(0, 1), gain1 * p(0, 0), gain1 * p(0, 1));
    xf[k] = x, pf[k] = p;
  }
  std::vector<double> out(n);
  cv::Vec2d xs = xf[n - 1];
  out[n - 1] = xs[0];
  for (size_t k = n - 1; k-- > 0;) {
    const cv::Matx22d c = pf[k] * f.t() * pp[k + 1].inv();
    xs = xf[k] + c * (xs - xp[k + 1]);
    out[k] = xs[0];
  }
  return out;
}

// Frames after `step` until the estimate is within 10 % of the jump (0: at once).
int Lag(const std::vector<double>& estimate, int step, double jump) {
  int t = step;
  while (t < static_cast<int>(estimate.size()) && std::fabs(estimate[t] - jump) > 0.1 * jump) ++t;
  return t - step;
}

TEST(LandmarkSmootherTest, StepIsFollowedAtOnceWhereRtsLags) {
  constexpr int kStep = 100;
  constexpr double kJump = 20, kSigma = 1;  // a head jumps by far more than its wobble
  std::mt19937 rng(9);
  std::normal_distribution<double> noise(0, kSigma);
  SampledSignals signal{{}, {}, {{}}};
  for (int t = 0; t < 200; ++t) {
    signal.times.push_back(t);
    signal.observed.push_back(true);
    signal.channels[0].push_back((t >= kStep) * kJump + noise(rng));
  }
  auto still_error = [&](const std::vector<double>& e) {
    double sq = 0;
    for (int t = 0; t < 200; ++t) {
      if (std::abs(t - kStep) > 20) sq += std::pow(e[t] - (t >= kStep) * kJump, 2);
    }
    return std::sqrt(sq / 160);
  };
  const std::vector<double> lpa = LpaIciSmooth(signal, {kSigma}, {})[0];
  const double lpa_still = still_error(lpa);
  // The RTS smoother at its steadiest on the still parts (its process noise swept): either it is
  // less steady than LPA-ICI or it lags behind the step.
  std::vector<double> rts;
  double best_q = 0, rts_still = 1e9;
  for (double q = 1; q > 1e-8; q /= 2) {
    const std::vector<double> trial = RtsSmooth(signal.channels[0], q, kSigma * kSigma);
    if (still_error(trial) < rts_still) rts = trial, rts_still = still_error(trial), best_q = q;
  }
  const int lpa_lag = Lag(lpa, kStep, kJump), rts_lag = Lag(rts, kStep, kJump);
  std::printf("still error: LPA-ICI %.3f, RTS (best q %.2g) %.3f; step lag: LPA-ICI %d, RTS %d\n",
              lpa_still, best_q, rts_still, lpa_lag, rts_lag);
  EXPECT_LE(lpa_lag, 1);
  EXPECT_TRUE(rts_still > lpa_still || rts_lag > 1);
  EXPECT_LT(lpa_still, kSigma / 3);
}

TEST(LandmarkSmootherTest, FindStepsFindsTheStepNotTheCurve) {
  constexpr int kStep = 80;
  constexpr double kSigma = 1;
  std::mt19937 rng(5);
  std::normal_distribution<double> noise(0, kSigma);
  auto make = [&](double jump) {
    SampledSignals s{{}, {}, {{}, {}}};
    for (int t = 0; t < 150; ++t) {
      const double u = 2 * M_PI * t / 150;
      s.times.push_back(t);
      s.observed.push_back(t != 40 && t != 41);  // a gap is not a step
      s.channels[0].push_back(20 * std::sin(u) + (t >= kStep) * jump + noise(rng));
      s.channels[1].push_back(12 * (1 - std::cos(u)) + noise(rng));
    }
    return s;
  };
  EXPECT_EQ(FindSteps(make(20), {kSigma, kSigma}, 6, 12), std::vector<size_t>{kStep});
  EXPECT_TRUE(FindSteps(make(0), {kSigma, kSigma}, 6, 12).empty());
  // Too short to fit either side: nothing.
  SampledSignals short_signal = make(20);
  short_signal.times.resize(10), short_signal.observed.resize(10);
  for (auto& c : short_signal.channels) c.resize(10);
  EXPECT_TRUE(FindSteps(short_signal, {kSigma, kSigma}, 6, 12).empty());
}

TEST(LandmarkSmootherTest, CurvedMotionWithCorrelatedNoiseAndAStep) {
  // The bench's motion (pan, zoom, slow rotation over 150 frames, a step at frame 100), with
  // the net's wobble correlated from frame to frame (an AR(1) shift, coefficient 0.5) on top of
  // each point's own noise; a few frames missing.
  constexpr int kFrames = 150, kStep = 100;
  constexpr double kJump = 24;
  std::mt19937 rng(11);
  std::normal_distribution<double> noise(0, 1);
  std::vector<double> times;
  std::vector<Landmarks> truth, noisy;
  std::vector<bool> observed;
  cv::Point2d shift(0, 0);
  for (int t = 0; t < kFrames; ++t) {
    const double u = 2 * M_PI * t / kFrames;
    truth.push_back(TrueFace(100 + 20 * std::sin(u) + (t >= kStep) * kJump,
                             100 + 12 * (1 - std::cos(u)), kFaceSize * (1 + 0.12 * std::sin(u)),
                             6 * M_PI / 180 * std::sin(u)));
    shift = 0.5 * shift + 0.87 * cv::Point2d(noise(rng), noise(rng));
    Landmarks l = AddNoise(truth.back(), 1.0, &rng);
    for (cv::Point2f& p : l)
      p += cv::Point2f(static_cast<float>(shift.x), static_cast<float>(shift.y));
    times.push_back(t);
    observed.push_back(t < 40 || t > 42);
    noisy.push_back(observed.back() ? l : truth.back());  // unobserved values are never read
  }
  const std::vector<Landmarks> out = SmoothLandmarkTrack(times, noisy, observed, {});
  // Away from the step, per frame: the error's frame-to-frame change (what a viewer sees).
  auto jitter = [&](const std::vector<Landmarks>& estimate) {
    double sq = 0;
    int n = 0;
    for (int t = 1; t < kFrames; ++t) {
      if ((t >= kStep - 3 && t < kStep + 5) || !observed[t] || !observed[t - 1]) continue;
      Landmarks now, before;
      for (size_t i = 0; i < truth[t].size(); ++i) {
        now.push_back(estimate[t][i] - truth[t][i]);
        before.push_back(estimate[t - 1][i] - truth[t - 1][i]);
      }
      sq += std::pow(RmsError(now, before), 2), ++n;
    }
    return std::sqrt(sq / n);
  };
  const double raw = jitter(noisy), smooth = jitter(out);
  // A filled frame, estimated from its neighbours only, is still closer than a raw one.
  double worst_fill = 0, raw_error = 0;
  for (int t = 40; t <= 42; ++t) worst_fill = std::max(worst_fill, RmsError(out[t], truth[t]));
  for (int t = 0; t < kFrames; ++t) raw_error += std::pow(RmsError(noisy[t], truth[t]), 2);
  raw_error = std::sqrt(raw_error / kFrames);
  std::printf(
      "curved motion: jitter %.3f -> %.3f px (%.0f%%); filled frames' error %.3f px (raw %.3f)\n",
      raw, smooth, 100 * smooth / raw, worst_fill, raw_error);
  EXPECT_LE(smooth, raw / 8);
  EXPECT_LT(worst_fill, 0.75 * raw_error);
  for (int t = kStep; t < kStep + 3; ++t) {
    const double miss = cv::norm(Centroid(out[t]) - Centroid(truth[t]));
    EXPECT_LT(miss, 0.1 * kJump) << "frame " << t;
  }
}

TEST(StabilizeTest, ShotCutIsNotCrossed) {
  constexpr int kCut = 60;
  std::vector<Landmarks> truth;
  // A small move at the cut: the tracker alone would link it; the cut must end the track.
  for (int t = 0; t < 120; ++t) truth.push_back(TrueFace(t < kCut ? 200 : 206, 100));
  proto::Alignments a = SingleTrack(truth, 1.0, 4, kCut);
  ASSERT_TRUE(StabilizeAlignments({}, &a).ok());
  EXPECT_EQ(a.smoothing().shot_cuts(), 1);
  EXPECT_EQ(a.smoothing().tracks(), 2);
  EXPECT_TRUE(a.frames(kCut).shot_cut());
  EXPECT_EQ(a.frames(kCut - 1).faces(0).track_id(), 1);
  EXPECT_EQ(a.frames(kCut).faces(0).track_id(), 2);
  const std::vector<Landmarks> out = Smoothed(a);
  for (int t = kCut - 2; t < kCut + 3; ++t) {
    const double leak = Centroid(out[t]).x - Centroid(truth[t]).x;
    EXPECT_LT(std::fabs(leak), 0.6) << "frame " << t;  // 10% of the 6 px move
  }
}

// 128-d descriptors: two people ~0.9 apart, each frame's own within ~0.1 of its person's.
std::vector<float> Descriptor(int person, std::mt19937* rng) {
  std::normal_distribution<float> noise(0, 0.01f);
  std::vector<float> d(128);
  for (int i = 0; i < 128; ++i) d[i] = noise(*rng);
  d[person] += 0.64f;
  return d;
}

TEST(StabilizeTest, CrossingFacesKeepTheirTracks) {
  std::mt19937 rng(5);
  proto::Alignments a;
  for (int t = 0; t < 60; ++t) {
    proto::Frame* frame = AddFrame(&a, t);
    // Two faces walking through each other; one hesitates in the middle so constant-velocity
    // prediction alone would swap them.
    const double xa = 100 + 8 * t;
    const double xb = t < 25 ? 540 - 8 * t : t < 35 ? 340 : 340 - 8 * (t - 35);
    for (int person : {t % 2, 1 - t % 2}) {  // the order within a frame alternates
      proto::Face face = MakeFace(AddNoise(TrueFace(person == 0 ? xa : xb, 100), 1.0, &rng));
      for (float v : Descriptor(person, &rng)) face.add_identity(v);
      *frame->add_faces() = face;
    }
  }
  ASSERT_TRUE(StabilizeAlignments({}, &a).ok());
  EXPECT_EQ(a.smoothing().tracks(), 2);
  for (const proto::Frame& f : a.frames()) {
    for (const proto::Face& face : f.faces()) {
      const int person = face.identity(0) > 0.3f ? 0 : 1;
      EXPECT_EQ(face.track_id(), person + 1) << "frame " << f.index();
    }
  }
}

TEST(StabilizeTest, DropoutsAreFilledAndLongGapsSplit) {
  std::vector<Landmarks> truth;
  for (int t = 0; t < 50; ++t) truth.push_back(TrueFace(100 + 2 * t, 100));
  for (int t : {10, 11, 12}) truth[t].clear();     // a 3-frame dropout: filled
  for (int t = 25; t < 31; ++t) truth[t].clear();  // 6 > max_gap 5: the track splits
  proto::Alignments a = SingleTrack(truth, 0.0, 6);
  a.mutable_frames()->DeleteSubrange(11, 1);  // frames without faces may be absent
  StabilizeOptions options;
  options.strength = 0;
  ASSERT_TRUE(StabilizeAlignments(options, &a).ok());
  EXPECT_EQ(a.smoothing().faces_filled(), 3);
  EXPECT_EQ(a.smoothing().tracks(), 2);
  ASSERT_EQ(a.frames_size(), 50);
  for (int t : {10, 11, 12}) {
    const proto::Frame& f = a.frames(t);
    EXPECT_EQ(f.index(), t);
    ASSERT_EQ(f.faces_size(), 1);
    const proto::Face& face = f.faces(0);
    EXPECT_TRUE(face.filled());
    EXPECT_EQ(face.track_id(), 1);
    EXPECT_EQ(face.score(), 0);
    EXPECT_TRUE(face.face_file().empty());
    EXPECT_LT(RmsError(FaceLandmarks(face), TrueFace(100 + 2 * t, 100)), 1e-3);
    EXPECT_EQ(face.transform().m_size(), 6);
    ASSERT_EQ(face.masks_size(), 1);
    EXPECT_EQ(face.masks(0).size(), kMaskSize);
    EXPECT_FALSE(face.masks(0).png().empty());
  }
  for (int t = 25; t < 31; ++t) EXPECT_EQ(a.frames(t).faces_size(), 0);
  EXPECT_EQ(a.frames(24).faces(0).track_id(), 1);
  EXPECT_EQ(a.frames(31).faces(0).track_id(), 2);
}

TEST(StabilizeTest, EveryNthFrameGapsAreFilled) {
  proto::Alignments a;
  for (int t = 0; t < 30; ++t) {
    proto::Frame* frame = AddFrame(&a, 3 * t);
    if (t < 10 || t > 12) *frame->add_faces() = MakeFace(TrueFace(100 + 2 * t, 100));
  }
  EXPECT_EQ(FrameStep(a), 3);
  ASSERT_TRUE(StabilizeAlignments({}, &a).ok());
  EXPECT_EQ(a.smoothing().faces_filled(), 3);
  EXPECT_EQ(a.smoothing().tracks(), 1);
  for (int t = 10; t <= 12; ++t) {
    ASSERT_EQ(a.frames(t).faces_size(), 1);
    EXPECT_TRUE(a.frames(t).faces(0).filled());
    EXPECT_LT(RmsError(FaceLandmarks(a.frames(t).faces(0)), TrueFace(100 + 2 * t, 100)), 0.05);
  }
}

TEST(StabilizeTest, RerunIsIdempotentAndStrengthZeroRestores) {
  std::vector<Landmarks> truth;
  for (int t = 0; t < 40; ++t) truth.push_back(t == 20 ? Landmarks() : TrueFace(100 + t, 100));
  const proto::Alignments original = SingleTrack(truth, 1.0, 7);
  proto::Alignments a = original;
  ASSERT_TRUE(StabilizeAlignments({}, &a).ok());
  const std::string once = a.SerializeAsString();
  ASSERT_TRUE(StabilizeAlignments({}, &a).ok());
  EXPECT_EQ(a.SerializeAsString(), once);

  StabilizeOptions zero;
  zero.strength = 0;
  ASSERT_TRUE(StabilizeAlignments(zero, &a).ok());
  for (int t = 0; t < 40; ++t) {
    const proto::Frame& f = a.frames(t);
    if (t == 20) {
      ASSERT_EQ(f.faces_size(), 1);
      EXPECT_TRUE(f.faces(0).filled());
      continue;
    }
    proto::Face face = f.faces(0);
    EXPECT_EQ(face.track_id(), 1);
    EXPECT_EQ(face.raw_landmarks_size(), 0);
    face.clear_track_id();
    // Landmarks, transform and masks exactly as extracted.
    EXPECT_EQ(face.SerializeAsString(), original.frames(t).faces(0).SerializeAsString())
        << "frame " << t;
  }
}

TEST(StabilizeTest, StillSourcesAreLeftAlone) {
  proto::Alignments one;
  *AddFrame(&one, 0)->add_faces() = MakeFace(TrueFace(10, 10));
  proto::Alignments folder = one;
  folder.mutable_frames(0)->set_name("a.png");
  *AddFrame(&folder, 0)->add_faces() = MakeFace(TrueFace(12, 10));
  folder.mutable_frames(1)->set_name("b.png");
  for (const proto::Alignments& before : {one, folder}) {
    proto::Alignments a = before;
    ASSERT_TRUE(StabilizeAlignments({}, &a).ok());
    EXPECT_EQ(a.SerializeAsString(), before.SerializeAsString());
  }
}

TEST(StabilizeTest, ValidationNamesTheFlag) {
  auto message = [](StabilizeOptions o) {
    const absl::Status s = ValidateStabilizeOptions(o);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    return std::string(s.message());
  };
  EXPECT_TRUE(ValidateStabilizeOptions({}).ok());
  EXPECT_EQ(message({-0.5, 5, 0.4}), "--strength: -0.5 is outside 0..8");
  EXPECT_NE(message({9, 5, 0.4}).find("0..8"), std::string::npos);
  EXPECT_NE(message({NAN, 5, 0.4}).find("--strength"), std::string::npos);
  EXPECT_EQ(message({1, -1, 0.4}), "--max-gap: -1 is outside 0..60");
  EXPECT_NE(message({1, 61, 0.4}).find("0..60"), std::string::npos);
  EXPECT_NE(message({1, 5, 0}).find("--cut-threshold 0"), std::string::npos);
  EXPECT_NE(message({1, 5, 1.5}).find("--cut-threshold 1.5"), std::string::npos);
  proto::Alignments a;
  EXPECT_EQ(StabilizeAlignments({1, 99, 0.4}, &a).code(), absl::StatusCode::kInvalidArgument);
}

// A textured synthetic scene: colour blobs on a gradient, panned by `shift` pixels.
cv::Mat Scene(cv::Scalar base, cv::Scalar blob, int shift) {
  cv::Mat image(240, 320, CV_8UC3, base);
  for (int y = 0; y < image.rows; ++y) {
    image.row(y) += cv::Scalar(y / 4, y / 8, 0);
  }
  cv::circle(image, {100 + shift, 120}, 50, blob, cv::FILLED);
  cv::rectangle(image, cv::Rect(200 + shift, 40, 60, 90), blob * 0.5, cv::FILLED);
  return image;
}

TEST(ShotCutsTest, HistogramsSeparateShotsNotPans) {
  const cv::Mat a0 = Scene({40, 60, 90}, {200, 180, 160}, 0);
  const cv::Mat a1 = Scene({40, 60, 90}, {200, 180, 160}, 6);
  const cv::Mat b = Scene({150, 90, 30}, {30, 220, 60}, 0);
  const std::vector<float> ha0 = FrameHistogram(a0), ha1 = FrameHistogram(a1);
  const std::vector<float> hb = FrameHistogram(b);
  ASSERT_EQ(ha0.size(), static_cast<size_t>(kFrameHistogramBins));
  double sum = 0;
  for (float v : ha0) sum += v;
  EXPECT_NEAR(sum, 1.0, 1e-5);
  EXPECT_LT(HistogramDistance(ha0, ha1), 0.1);
  EXPECT_GT(HistogramDistance(ha0, hb), 0.4);
  EXPECT_EQ(HistogramDistance(ha0, {}), 0);  // no histogram: never a cut

  proto::Alignments alignments;
  const cv::Mat* frames[] = {&a0, &a1, &a0, &b, &b, &a0, &a0};
  for (int i = 0; i < 7; ++i) {
    proto::Frame* f = alignments.add_frames();
    f->set_index(i);
    if (i != 5) {  // frame 5 has no histogram (an older file, or a filled gap's frame)
      for (float v : FrameHistogram(*frames[i])) f->add_histogram(v);
    }
  }
  // Frame 5 never starts a shot; frame 6 is compared with frame 4.
  EXPECT_EQ(MarkShotCuts(0.4, &alignments), 2);
  for (int i = 0; i < 7; ++i) EXPECT_EQ(alignments.frames(i).shot_cut(), i == 3 || i == 6) << i;
}

}  // namespace
}  // namespace fsc::face
