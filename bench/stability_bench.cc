// Steadiness of the landmarks over time (issue 17), measured against known motion and next to
// Faceswap's own filter in the same run.
//
// The test video: still photos moved by smooth similarity transforms that the bench chooses, so
// the true landmarks of every frame are known. Shot 1 is data/astronaut.png panned, zoomed
// (+-12 %) and slowly rotated (+-6 deg) for 150 frames, with an abrupt 24-pixel step at frame 100
// that stays; shot 2 (a cut at frame 150) is a 512x512 crop of data/sample1.jpg around one face,
// moved differently, for 60 frames. In frames 40-42, 120 and 175-176 the face is hidden (its box
// painted with its mean colour), as a detector misses a face now and then inside a track.
// Encoded by ffmpeg with libx264 at CRF 18, 30 fps, then extracted by fsc in-process
// (RunExtraction, no face PNGs) with --re-feed 0 and 8.
//
// Every estimate is mapped back through the inverse of its frame's known transform into the
// photo's pixels, where a perfect estimate stands still. Per method:
//   jitter   RMS distance of the mapped-back landmarks from their per-shot mean, % of the
//            inter-ocular distance (IOD, between the eyes' centres, of the photo's face);
//   f2f      RMS of the frame-to-frame difference of the mapped-back landmarks, % IOD;
//   missed   frames of a shot without the face (the hidden ones included: a method that fills a
//            track's gaps has none);
//   lag      frames from the step until the mapped-back centroid is within 10 % of the step's
//            size (and stays so for 3 frames); 0 = right at the step frame;
//   lead     the largest centroid error in the 3 frames before the step (% IOD): a smoother that
//            looks ahead may start the step early;
//   cut      the largest RMS error of one frame among the 3 on either side of the cut (% IOD):
//            what one shot leaks into the other.
// Jitter and f2f leave out the frames around the step (3 before, 5 after) and the cut (3 each
// side), which lag, lead and cut measure. On data/Megamind.avi (no ground truth; its first 200
// frames, 3 shots) the figure is the second difference of each face's landmarks between
// neighbouring frames (RMS, % of that face's IOD): how much the landmarks shake.
//
// Methods: raw (fsc extract as it is), --re-feed 8, fsc's stabilisation (StabilizeAlignments with
// default options, and strength 2), fsc's stabilisation of the re-fed landmarks, and the peer,
// Faceswap's `spatial` alignments job reimplemented from tools/alignments/jobs.py.
//
//   stability_bench [--data-dir data] [--models-dir models] [--threads 2] [--megamind-frames 200]
//                   [--strengths 1,2] [--work-dir DIR] [--reuse] [--json]
// --reuse takes the test video and extractions an earlier run left in --work-dir (the figures
// of the smoothing methods are deterministic given them; only extraction takes long).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "core/face/alignments_file.h"
#include "core/face/extractor.h"
#include "core/face/stabilize.h"
#include "core/media/frame_source.h"
#include "core/media/video_writer.h"
#include "core/util/artifact_names.h"
#include "core/util/flags.h"
#include "core/util/status_macros.h"

namespace {

namespace fs = std::filesystem;
using fsc::proto::Alignments;
using fsc::proto::Face;

constexpr int kPoints = 68;
constexpr int kCanvas = 512;
constexpr int kShot1Frames = 150;
constexpr int kShot2Frames = 60;
constexpr int kStepFrame = 100;
constexpr double kStepPixels = 24;
constexpr int kCutFrame = kShot1Frames;
// Frames left out of jitter and f2f around the step and the cut (measured by lag/lead/cut).
constexpr int kStepBefore = 3, kStepAfter = 5, kCutSide = 3;
// Frames whose face is hidden (its box painted over with its mean colour), as a detector misses
// a face for a few frames: runs of 3, 1 and 2 inside the two shots, away from the step and cut.
constexpr int kHiddenFrames[] = {40, 41, 42, 120, 175, 176};

using Shape = std::vector<cv::Point2d>;

// p -> s R(angle) (p - centre) + centre + shift.
cv::Matx23d Similarity(cv::Point2d centre, double scale, double degrees, cv::Point2d shift) {
  const double a = degrees * CV_PI / 180;
  const double c = scale * std::cos(a), s = scale * std::sin(a);
  return cv::Matx23d(c, -s, centre.x + shift.x - (c * centre.x - s * centre.y),  //
                     s, c, centre.y + shift.y - (s * centre.x + c * centre.y));
}

cv::Point2d Apply(const cv::Matx23d& m, cv::Point2d p) {
  return {m(0, 0) * p.x + m(0, 1) * p.y + m(0, 2), m(1, 0) * p.x + m(1, 1) * p.y + m(1, 2)};
}

cv::Matx23d Inverse(const cv::Matx23d& m) {
  cv::Mat inverse;
  cv::invertAffineTransform(cv::Mat(m), inverse);
  return cv::Matx23d(inverse);
}

double Scale(const cv::Matx23d& m) { return std::hypot(m(0, 0), m(1, 0)); }

cv::Point2d Centroid(const Shape& shape) {
  cv::Point2d sum(0, 0);
  for (const cv::Point2d& p : shape) sum += p;
  return sum / static_cast<double>(shape.size());
}

// Between the centres of the two eyes' six points (iBUG 36-41, 42-47).
double InterOcular(const Shape& shape) {
  cv::Point2d left(0, 0), right(0, 0);
  for (int i = 0; i < 6; ++i) {
    left += shape[36 + i];
    right += shape[42 + i];
  }
  return cv::norm((left - right) / 6.0);
}

Shape FaceShape(const Face& face) {
  Shape shape;
  for (const auto& p : face.landmarks()) shape.emplace_back(p.x(), p.y());
  return shape;
}

// One still photo and how the video moves it.
struct Shot {
  std::string name;
  cv::Mat photo;    // kCanvas x kCanvas BGR
  Shape reference;  // its face's landmarks, unmoved
  double iod = 0;
  int begin = 0, end = 0;                  // video frames [begin, end)
  std::function<cv::Matx23d(int)> motion;  // video frame -> photo-to-frame transform
};

absl::StatusOr<Face> DetectReference(fsc::face::FaceExtractor& extractor, const cv::Mat& photo,
                                     cv::Point2d near, const std::string& name) {
  FSC_ASSIGN_OR_RETURN(auto faces, extractor.Process(photo));
  const Face* best = nullptr;
  double best_distance = 1e18;
  for (const auto& found : faces) {
    double d = cv::norm(Centroid(FaceShape(found.face)) - near);
    if (d < best_distance) {
      best_distance = d;
      best = &found.face;
    }
  }
  if (best == nullptr) return absl::NotFoundError(absl::StrCat(name, ": no face found"));
  return *best;
}

absl::StatusOr<std::vector<Shot>> MakeShots(const std::string& data_dir,
                                            const std::string& models_dir) {
  fsc::face::ExtractOptions options;
  options.models_dir = models_dir;
  options.write_faces = false;
  FSC_ASSIGN_OR_RETURN(auto extractor, fsc::face::FaceExtractor::Create(options));

  std::vector<Shot> shots(2);
  Shot& one = shots[0];
  one.name = "astronaut.png";
  one.photo = cv::imread(data_dir + "/astronaut.png", cv::IMREAD_COLOR);
  Shot& two = shots[1];
  two.name = "sample1.jpg (crop)";
  cv::Mat sample = cv::imread(data_dir + "/sample1.jpg", cv::IMREAD_COLOR);
  if (one.photo.empty() || sample.empty() || one.photo.size() != cv::Size(kCanvas, kCanvas) ||
      sample.cols < 1187 || sample.rows < 790) {
    return absl::NotFoundError(absl::StrCat(
        "needs ", data_dir, "/astronaut.png (512x512) and sample1.jpg (from scripts/setup)"));
  }
  // The middle face of sample1.jpg (box 838,421 187x227), alone in the crop.
  two.photo = sample(cv::Rect(675, 278, kCanvas, kCanvas)).clone();

  FSC_ASSIGN_OR_RETURN(Face face1, DetectReference(*extractor, one.photo, {222, 124}, one.name));
  FSC_ASSIGN_OR_RETURN(Face face2, DetectReference(*extractor, two.photo, {256, 256}, two.name));
  one.reference = FaceShape(face1);
  two.reference = FaceShape(face2);
  one.iod = InterOcular(one.reference);
  two.iod = InterOcular(two.reference);
  one.begin = 0;
  one.end = kShot1Frames;
  two.begin = kCutFrame;
  two.end = kCutFrame + kShot2Frames;

  // Rotation and zoom about the face, so it stays in the picture; frame 0 is the photo itself.
  const cv::Point2d c1 = Centroid(one.reference);
  one.motion = [c1](int t) {
    const double u = 2 * CV_PI * t / kShot1Frames;
    cv::Point2d shift(20 * std::sin(u), 12 * (1 - std::cos(u)));
    if (t >= kStepFrame) shift.x += kStepPixels;
    return Similarity(c1, 1 + 0.12 * std::sin(u), 6 * std::sin(u), shift);
  };
  const cv::Point2d c2 = Centroid(two.reference);
  two.motion = [c2](int t) {
    const double u = 2 * CV_PI * (t - kCutFrame) / kShot2Frames;
    return Similarity(c2, 1 + 0.06 * std::sin(u), -4 * std::sin(u),
                      {-15 * std::sin(u / 2), 10 * std::sin(u)});
  };
  return shots;
}

// Paints the face's box (its moved landmarks' bounds, grown by a third) with its mean colour: a
// flat patch the detector cannot see, small enough not to look like a shot cut.
void HideFace(const Shot& shot, int t, cv::Mat* frame) {
  std::vector<cv::Point2f> moved;
  for (const cv::Point2d& p : shot.reference) {
    const cv::Point2d q = Apply(shot.motion(t), p);
    moved.emplace_back(static_cast<float>(q.x), static_cast<float>(q.y));
  }
  cv::Rect box = cv::boundingRect(moved);
  const int grow_x = box.width / 3, grow_y = box.height / 3;
  box = cv::Rect(box.x - grow_x, box.y - grow_y, box.width + 2 * grow_x, box.height + 2 * grow_y) &
        cv::Rect(0, 0, frame->cols, frame->rows);
  cv::Mat patch = (*frame)(box);
  patch.setTo(cv::mean(patch));
}

absl::Status WriteVideo(const std::vector<Shot>& shots, const std::string& path) {
  fsc::media::VideoWriterOptions options;
  options.crf = 18;
  FSC_ASSIGN_OR_RETURN(auto writer,
                       fsc::media::VideoWriter::Open(path, kCanvas, kCanvas, "30/1", options));
  for (const Shot& shot : shots) {
    for (int t = shot.begin; t < shot.end; ++t) {
      cv::Mat frame;
      cv::warpAffine(shot.photo, frame, cv::Mat(shot.motion(t)), {kCanvas, kCanvas},
                     cv::INTER_CUBIC, cv::BORDER_REPLICATE);
      if (std::count(std::begin(kHiddenFrames), std::end(kHiddenFrames), t) > 0)
        HideFace(shot, t, &frame);
      FSC_RETURN_IF_ERROR(writer->Write(frame));
    }
  }
  return writer->Finish();
}

// A video's processed frames all get a Frame with its histogram (shot cuts are found from
// them), whether or not the extractor wrote one.
absl::Status EnsureHistograms(const std::string& video, int64_t frame_end, Alignments* alignments) {
  std::map<int64_t, fsc::proto::Frame> frames;
  for (const auto& frame : alignments->frames()) frames[frame.index()] = frame;
  FSC_ASSIGN_OR_RETURN(auto source, fsc::media::FrameSource::Open(video));
  while (auto frame = source->Next()) {
    if (frame_end >= 0 && frame->index >= frame_end) break;
    fsc::proto::Frame& stored = frames[frame->index];
    stored.set_index(frame->index);
    if (stored.histogram_size() == 0) {
      for (float v : fsc::face::FrameHistogram(frame->image)) stored.add_histogram(v);
    }
  }
  alignments->clear_frames();
  for (auto& [index, frame] : frames) *alignments->add_frames() = std::move(frame);
  return absl::OkStatus();
}

absl::StatusOr<Alignments> Extract(const std::string& video, const std::string& work_dir,
                                   const std::string& models_dir, int re_feed, int threads,
                                   int64_t frame_end, bool reuse) {
  fsc::face::ExtractOptions options;
  options.models_dir = models_dir;
  options.write_faces = false;
  options.re_feed = re_feed;
  options.threads = threads;
  options.frame_end = frame_end;
  // The raw methods: stabilisation is applied (and measured) separately, by Stabilised().
  options.smooth = fsc::face::SmoothMode::kOff;
  const std::string out =
      absl::StrCat(work_dir, "/extract-", fs::path(video).stem().string(), "-refeed", re_feed);
  std::string path = (fs::path(out) / fsc::kAlignmentsFileName).string();
  if (!reuse || !fs::exists(path)) {
    FSC_ASSIGN_OR_RETURN(auto report, fsc::face::RunExtraction(video, out, "", options));
    std::cerr << absl::StrFormat("  extracted %s with --re-feed %d: %d frames, %d faces, %.1f s\n",
                                 fs::path(video).filename().string(), re_feed,
                                 report.frames_processed, report.faces_found, report.seconds);
    path = report.alignments_path;
  }
  FSC_ASSIGN_OR_RETURN(Alignments alignments, fsc::face::ReadAlignments(path));
  // Raw: should the extractor have stabilised the file, back to the landmark net's own output.
  alignments.clear_smoothing();
  for (auto& frame : *alignments.mutable_frames()) {
    frame.set_shot_cut(false);
    auto* faces = frame.mutable_faces();
    for (int f = faces->size() - 1; f >= 0; --f) {
      Face& face = *faces->Mutable(f);
      if (face.filled()) {
        faces->DeleteSubrange(f, 1);
        continue;
      }
      if (face.raw_landmarks_size() == kPoints) *face.mutable_landmarks() = face.raw_landmarks();
      face.clear_raw_landmarks();
      face.set_track_id(0);
    }
  }
  FSC_RETURN_IF_ERROR(EnsureHistograms(video, frame_end, &alignments));
  return alignments;
}

// Faceswap's `spatial` job (tools/alignments/jobs.py, Spatial), as it is there: the first face
// of every frame that has one, in frame order as one sequence (frame gaps and shot cuts are not
// seen); each shape centred on its mean point and divided by its mean point distance from it
// (normalize_shapes); PCA with 20 whitened components fitted to all of them, each shape projected
// and reconstructed (transform then inverse_transform: the whitening cancels, leaving the
// projection onto the 20 leading axes); back to image pixels; then a 5-tap moving average over
// the sequence, the ends padded with copies of the first and last shape.
Alignments FaceswapSpatial(const Alignments& in) {
  Alignments out = in;
  std::vector<Face*> faces;
  for (auto& frame : *out.mutable_frames()) {
    if (frame.faces_size() > 0 && frame.faces(0).landmarks_size() == kPoints) {
      faces.push_back(frame.mutable_faces(0));
    }
  }
  const int n = static_cast<int>(faces.size());
  if (n < 20) return out;  // sklearn's PCA(n_components=20) needs 20 samples
  cv::Mat table(n, 2 * kPoints, CV_64F);
  std::vector<cv::Point2d> means(n);
  std::vector<double> scales(n);
  for (int i = 0; i < n; ++i) {
    Shape shape = FaceShape(*faces[i]);
    means[i] = Centroid(shape);
    double scale = 0;
    for (const cv::Point2d& p : shape) scale += cv::norm(p - means[i]);
    scales[i] = scale / kPoints;
    for (int p = 0; p < kPoints; ++p) {
      table.at<double>(i, 2 * p) = (shape[p].x - means[i].x) / scales[i];
      table.at<double>(i, 2 * p + 1) = (shape[p].y - means[i].y) / scales[i];
    }
  }
  cv::PCA pca(table, cv::noArray(), cv::PCA::DATA_AS_ROW, 20);
  cv::Mat rebuilt = pca.backProject(pca.project(table));
  std::vector<Shape> shapes(n, Shape(kPoints));
  for (int i = 0; i < n; ++i) {
    for (int p = 0; p < kPoints; ++p) {
      shapes[i][p] =
          cv::Point2d(rebuilt.at<double>(i, 2 * p), rebuilt.at<double>(i, 2 * p + 1)) * scales[i] +
          means[i];
    }
  }
  for (int i = 0; i < n; ++i) {
    faces[i]->clear_landmarks();
    for (int p = 0; p < kPoints; ++p) {
      cv::Point2d sum(0, 0);
      for (int j = -2; j <= 2; ++j) sum += shapes[std::clamp(i + j, 0, n - 1)][p];
      auto* point = faces[i]->add_landmarks();
      point->set_x(static_cast<float>(sum.x / 5));
      point->set_y(static_cast<float>(sum.y / 5));
    }
  }
  return out;
}

absl::StatusOr<Alignments> Stabilised(const Alignments& raw, double strength) {
  Alignments out = raw;
  fsc::face::StabilizeOptions options;
  options.strength = strength;
  FSC_RETURN_IF_ERROR(fsc::face::StabilizeAlignments(options, &out));
  return out;
}

std::map<int64_t, const fsc::proto::Frame*> ByIndex(const Alignments& alignments) {
  std::map<int64_t, const fsc::proto::Frame*> frames;
  for (const auto& frame : alignments.frames()) frames[frame.index()] = &frame;
  return frames;
}

struct KnownMotionFigures {
  double jitter = 0, f2f = 0;  // % IOD
  int missed = 0;
  int lag = 0;               // frames; -1: not within 30 frames
  double lead = 0, cut = 0;  // % IOD
};

// Squared distance between two shapes, summed over the points.
double SquaredDistance(const Shape& a, const Shape& b) {
  double sum = 0;
  for (int p = 0; p < kPoints; ++p) {
    cv::Point2d d = a[p] - b[p];
    sum += d.dot(d);
  }
  return sum;
}

KnownMotionFigures MeasureKnownMotion(const Alignments& alignments,
                                      const std::vector<Shot>& shots) {
  auto frames = ByIndex(alignments);
  auto left_out = [](int t) {
    return (t >= kStepFrame - kStepBefore && t < kStepFrame + kStepAfter) ||
           (t >= kCutFrame - kCutSide && t < kCutFrame + kCutSide);
  };
  KnownMotionFigures figures;
  double jitter_sum = 0, f2f_sum = 0;
  int64_t jitter_count = 0, f2f_count = 0;
  std::vector<std::vector<std::optional<Shape>>> back(shots.size());
  std::vector<Shape> means(shots.size(), Shape(kPoints));
  for (size_t s = 0; s < shots.size(); ++s) {
    const Shot& shot = shots[s];
    const cv::Point2d reference_centre = Centroid(shot.reference);
    for (int t = shot.begin; t < shot.end; ++t) {
      const cv::Matx23d motion = shot.motion(t);
      const cv::Matx23d inverse = Inverse(motion);
      const cv::Point2d expected = Apply(motion, reference_centre);
      std::optional<Shape> best;
      // Wide enough that a smoother's leak across the cut reads as error, not as a missed face.
      double best_distance = 1.5 * shot.iod * Scale(motion);
      auto it = frames.find(t);
      for (int f = 0; it != frames.end() && f < it->second->faces_size(); ++f) {
        Shape shape = FaceShape(it->second->faces(f));
        if (static_cast<int>(shape.size()) != kPoints) continue;
        double d = cv::norm(Centroid(shape) - expected);
        if (d < best_distance) {
          best_distance = d;
          for (cv::Point2d& p : shape) p = Apply(inverse, p);
          best = shape;
        }
      }
      if (!best) ++figures.missed;
      back[s].push_back(best);
    }
    int used = 0;
    for (int i = 0; i < shot.end - shot.begin; ++i) {
      if (!back[s][i] || left_out(shot.begin + i)) continue;
      for (int p = 0; p < kPoints; ++p) means[s][p] += (*back[s][i])[p];
      ++used;
    }
    for (cv::Point2d& p : means[s]) p /= std::max(used, 1);
    const double iod2 = shot.iod * shot.iod;
    for (int i = 0; i < shot.end - shot.begin; ++i) {
      const int t = shot.begin + i;
      if (!back[s][i] || left_out(t)) continue;
      jitter_sum += SquaredDistance(*back[s][i], means[s]) / iod2;
      jitter_count += kPoints;
      if (i + 1 < shot.end - shot.begin && back[s][i + 1] && !left_out(t + 1)) {
        f2f_sum += SquaredDistance(*back[s][i + 1], *back[s][i]) / iod2;
        f2f_count += kPoints;
      }
    }
  }
  figures.jitter = 100 * std::sqrt(jitter_sum / std::max<int64_t>(jitter_count, 1));
  figures.f2f = 100 * std::sqrt(f2f_sum / std::max<int64_t>(f2f_count, 1));

  // The step, in the photo's pixels, is the frame-pixel step over the zoom at that frame.
  const Shot& one = shots[0];
  const double threshold = 0.1 * kStepPixels / Scale(one.motion(kStepFrame));
  auto centre_error = [&](int t) -> std::optional<double> {
    const auto& shape = back[0][t - one.begin];
    if (!shape) return std::nullopt;
    return cv::norm(Centroid(*shape) - Centroid(means[0]));
  };
  figures.lag = -1;
  for (int j = 0; j <= 30 && figures.lag < 0; ++j) {
    bool within = true;
    for (int k = 0; k < 3; ++k) {
      auto e = centre_error(kStepFrame + j + k);
      within = within && e && *e <= threshold;
    }
    if (within) figures.lag = j;
  }
  for (int t = kStepFrame - kStepBefore; t < kStepFrame; ++t) {
    if (auto e = centre_error(t)) figures.lead = std::max(figures.lead, 100 * *e / one.iod);
  }
  for (size_t s = 0; s < 2; ++s) {
    const int first = s == 0 ? kCutFrame - kCutSide : kCutFrame;
    for (int t = first; t < first + kCutSide; ++t) {
      const auto& shape = back[s][t - shots[s].begin];
      if (!shape) continue;
      double rms = std::sqrt(SquaredDistance(*shape, means[s]) / kPoints) / shots[s].iod;
      figures.cut = std::max(figures.cut, 100 * rms);
    }
  }
  return figures;
}

// Second difference of each face's landmarks over neighbouring frames (the face in the frames
// before and after is the one whose centroid is nearest, within a third of its IOD), RMS over
// points and faces, % of the face's IOD; and how many of the frames have a face.
struct ShakeFigures {
  double second_difference = 0;
  int frames_with_faces = 0;
};

ShakeFigures MeasureShake(const Alignments& alignments, int64_t frame_end) {
  auto frames = ByIndex(alignments);
  ShakeFigures figures;
  double sum = 0;
  int64_t count = 0;
  auto nearest = [&](int64_t t, const Shape& to, double within) -> std::optional<Shape> {
    auto it = frames.find(t);
    std::optional<Shape> best;
    for (int f = 0; it != frames.end() && f < it->second->faces_size(); ++f) {
      Shape shape = FaceShape(it->second->faces(f));
      double d = cv::norm(Centroid(shape) - Centroid(to));
      if (d < within) {
        within = d;
        best = shape;
      }
    }
    return best;
  };
  for (int64_t t = 0; t < frame_end; ++t) {
    auto it = frames.find(t);
    if (it == frames.end() || it->second->faces_size() == 0) continue;
    ++figures.frames_with_faces;
    for (const Face& face : it->second->faces()) {
      Shape shape = FaceShape(face);
      const double iod = InterOcular(shape);
      auto before = nearest(t - 1, shape, iod / 3);
      auto after = nearest(t + 1, shape, iod / 3);
      if (!before || !after) continue;
      for (int p = 0; p < kPoints; ++p) {
        cv::Point2d d = ((*after)[p] - 2 * shape[p] + (*before)[p]) / iod;
        sum += d.dot(d);
        ++count;
      }
    }
  }
  figures.second_difference = 100 * std::sqrt(sum / std::max<int64_t>(count, 1));
  return figures;
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five;
  in >> one >> five;
  return one + " " + five;
}

struct Method {
  std::string name;
  Alignments synthetic;
  Alignments megamind;
  KnownMotionFigures known;
  ShakeFigures shake;
};

absl::Status Main(int argc, char** argv) {
  std::string data_dir = "data", models_dir = "models", work_dir;
  std::string strengths_text = "1,2";
  int threads = 2, megamind_frames = 200;
  bool json = false, reuse = false;
  fsc::util::FlagSet flags(
      "stability_bench", "[options]",
      "Landmark steadiness over time against known motion: raw, --re-feed 8, fsc's "
      "stabilisation and Faceswap's spatial filter, same frames, same run.");
  flags.String("data-dir", 0, &data_dir, "folder with astronaut.png, sample1.jpg, Megamind.avi");
  flags.String("models-dir", 0, &models_dir, "folder filled by scripts/setup");
  flags.Int("threads", 0, &threads, "extraction worker threads", {1, 64});
  flags.Int("megamind-frames", 0, &megamind_frames,
            "frames of Megamind.avi to measure (0: skip it)", {0, 100000});
  flags.String("work-dir", 0, &work_dir, "keep the test video and alignments here");
  flags.String("strengths", 0, &strengths_text,
               "fsc smoothing strengths to measure, comma-separated (1 is the default)");
  flags.Bool("reuse", 0, &reuse,
             "with --work-dir: reuse the test video and extractions an earlier run left there");
  flags.Bool("json", 0, &json, "print the figures as JSON instead of a table");
  std::vector<std::string> positional;
  FSC_RETURN_IF_ERROR(flags.Parse(std::vector<std::string>(argv + 1, argv + argc), &positional));
  if (flags.help_requested()) {
    std::cout << flags.Help();
    return absl::OkStatus();
  }
  const bool keep = !work_dir.empty();
  if (!keep) {
    char pattern[] = "/tmp/stability_bench-XXXXXX";
    if (mkdtemp(pattern) == nullptr) return absl::InternalError("cannot make a temporary folder");
    work_dir = pattern;
  }
  fs::create_directories(work_dir);
  const std::string load_before = LoadAverage();

  FSC_ASSIGN_OR_RETURN(std::vector<Shot> shots, MakeShots(data_dir, models_dir));
  const std::string video = work_dir + "/known_motion.mp4";
  if (!reuse || !fs::exists(video)) FSC_RETURN_IF_ERROR(WriteVideo(shots, video));
  FSC_ASSIGN_OR_RETURN(Alignments raw, Extract(video, work_dir, models_dir, 0, threads, -1, reuse));
  FSC_ASSIGN_OR_RETURN(Alignments fed, Extract(video, work_dir, models_dir, 8, threads, -1, reuse));
  const std::string megamind = data_dir + "/Megamind.avi";
  const bool with_megamind = megamind_frames > 0 && fs::exists(megamind);
  Alignments mm_raw, mm_fed;
  if (with_megamind) {
    FSC_ASSIGN_OR_RETURN(
        mm_raw, Extract(megamind, work_dir, models_dir, 0, threads, megamind_frames, reuse));
    FSC_ASSIGN_OR_RETURN(
        mm_fed, Extract(megamind, work_dir, models_dir, 8, threads, megamind_frames, reuse));
  }

  std::vector<Method> methods;
  methods.push_back({"raw", raw, mm_raw, {}, {}});
  methods.push_back({"re-feed 8", fed, mm_fed, {}, {}});
  std::vector<double> strengths;
  for (absl::string_view word : absl::StrSplit(strengths_text, ',', absl::SkipEmpty())) {
    double strength = 0;
    if (!absl::SimpleAtod(word, &strength) || strength < 0 || strength > 8) {
      return absl::InvalidArgumentError(
          absl::StrCat("--strengths: '", word, "' is not a strength in 0..8"));
    }
    strengths.push_back(strength);
  }
  for (double strength : strengths) {
    Method method{strength == 1 ? "fsc" : absl::StrCat("fsc strength ", strength), {}, {}, {}, {}};
    FSC_ASSIGN_OR_RETURN(method.synthetic, Stabilised(raw, strength));
    if (with_megamind) {
      FSC_ASSIGN_OR_RETURN(method.megamind, Stabilised(mm_raw, strength));
    }
    methods.push_back(std::move(method));
  }
  {
    Method method{"re-feed 8 + fsc", {}, {}, {}, {}};
    FSC_ASSIGN_OR_RETURN(method.synthetic, Stabilised(fed, 1.0));
    if (with_megamind) {
      FSC_ASSIGN_OR_RETURN(method.megamind, Stabilised(mm_fed, 1.0));
    }
    methods.push_back(std::move(method));
  }
  methods.push_back({"faceswap spatial (peer)",
                     FaceswapSpatial(raw),
                     with_megamind ? FaceswapSpatial(mm_raw) : Alignments(),
                     {},
                     {}});
  for (Method& method : methods) {
    method.known = MeasureKnownMotion(method.synthetic, shots);
    if (with_megamind) method.shake = MeasureShake(method.megamind, megamind_frames);
  }
  const Method& base = methods.front();
  const Method& peer = methods.back();
  const std::string load_after = LoadAverage();

  if (json) {
    nlohmann::json out;
    out["video"] = {{"frames", kShot1Frames + kShot2Frames},
                    {"crf", 18},
                    {"step_frame", kStepFrame},
                    {"step_pixels", kStepPixels},
                    {"cut_frame", kCutFrame},
                    {"iod", {shots[0].iod, shots[1].iod}}};
    out["load_average"] = {load_before, load_after};
    for (const Method& m : methods) {
      nlohmann::json row = {{"method", m.name},
                            {"jitter_pct_iod", m.known.jitter},
                            {"f2f_pct_iod", m.known.f2f},
                            {"f2f_vs_raw", m.known.f2f / base.known.f2f},
                            {"f2f_vs_peer", m.known.f2f / peer.known.f2f},
                            {"missed", m.known.missed},
                            {"lag_frames", m.known.lag},
                            {"lead_pct_iod", m.known.lead},
                            {"cut_pct_iod", m.known.cut}};
      if (with_megamind) {
        row["megamind_second_difference_pct_iod"] = m.shake.second_difference;
        row["megamind_frames_with_faces"] = m.shake.frames_with_faces;
      }
      out["methods"].push_back(row);
    }
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << absl::StrFormat(
        "known motion: %d frames (astronaut %d with a %.0f px step at frame %d, cut at %d, "
        "sample1 crop %d), libx264 CRF 18; IOD %.1f / %.1f px\n",
        kShot1Frames + kShot2Frames, kShot1Frames, kStepPixels, kStepFrame, kCutFrame, kShot2Frames,
        shots[0].iod, shots[1].iod);
    std::cout << absl::StrFormat("%-24s %7s %6s %7s %8s %6s %4s %6s %6s", "method", "jitter", "f2f",
                                 "f2f/raw", "f2f/peer", "missed", "lag", "lead", "cut");
    if (with_megamind) std::cout << absl::StrFormat("  %8s %6s %7s", "mm d2", "/raw", "/peer");
    std::cout << "\n";
    for (const Method& m : methods) {
      std::cout << absl::StrFormat(
          "%-24s %6.2f%% %5.2f%% %7.2f %8.2f %6d %4s %5.1f%% %5.1f%%", m.name, m.known.jitter,
          m.known.f2f, m.known.f2f / base.known.f2f, m.known.f2f / peer.known.f2f, m.known.missed,
          m.known.lag < 0 ? ">30" : absl::StrCat(m.known.lag), m.known.lead, m.known.cut);
      if (with_megamind) {
        std::cout << absl::StrFormat("  %7.2f%% %6.2f %7.2f", m.shake.second_difference,
                                     m.shake.second_difference / base.shake.second_difference,
                                     m.shake.second_difference / peer.shake.second_difference);
      }
      std::cout << "\n";
    }
    std::cout << "jitter, f2f, lead, cut: % of the inter-ocular distance; lag in frames; mm d2: "
                 "Megamind.avi's first "
              << megamind_frames << " frames, second difference of the landmarks\n";
    std::cout << "load average (1 min, 5 min) before: " << load_before << ", after: " << load_after
              << "\n";
  }
  if (!keep) fs::remove_all(work_dir);
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  const absl::Status status = Main(argc, argv);
  if (!status.ok()) {
    std::cerr << "stability_bench: " << status.message() << "\n";
    return 1;
  }
  return 0;
}
